"""Training: recipe.py (the paper's recipe, optimiser, schedule, loss), data.py (clips decoded in workers),
checkpoint.py (exact resume), loop.py (`fit`, DDP under torchrun), export.py (weights + weights.toml entry).

Nothing is re-exported here so that importing the package does not import torch before a command needs it.
"""
