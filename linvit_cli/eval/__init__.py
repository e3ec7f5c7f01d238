"""`linvit eval`: metrics.py (accuracy from per-video predictions), report.py (the JSON report and the
per-video JSONL), runner.py (the loop: decoding workers, chunked views, resume, torchrun shards).

Nothing is re-exported here so that importing the package does not import torch before a command needs it.
"""
