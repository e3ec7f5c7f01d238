"""Reading videos and turning them into model views.

decode.py (PyAV: probe, frames nearest to given times), sampling.py (the protocols' frame indices, no
video needed), transforms.py (resize, crops, normalisation), views.py (`load_views`: all three in one call).
Nothing is re-exported here so that importing `linvit_cli.video.decode` does not import torch.
"""
