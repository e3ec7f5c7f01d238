"""A synthetic motion benchmark: rendered and encoded clips whose class only the order of frames tells.

`classes` holds the motions, `render` the scenes and frames, `dataset` the videos and SSv2-layout annotation
files. Used by `linvit synth`, by tests of training and evaluation, and to train the packaged demo model.
"""
