"""Model families (LViT, VideoMamba) and the registry of their builders."""

from ._registry import create_model, get_architecture, list_architectures, register_model

__all__ = ["create_model", "get_architecture", "list_architectures", "register_model"]
