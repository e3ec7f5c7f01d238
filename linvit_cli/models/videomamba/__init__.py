"""VideoMamba (arXiv 2403.06977) in plain PyTorch."""
