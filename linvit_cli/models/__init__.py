"""Model families (LViT, VideoMamba), the layers both use, and the table of their builders.

`architectures.py` looks builders up by name. This package's own import loads no family, so that the kernels
(`linvit_cli.kernels`) can use `models.layers` without importing the models that call them.
"""
