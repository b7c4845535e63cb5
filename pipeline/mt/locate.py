"""Where the translation models' files are: see ``pipeline.hub``, which the speech voices share."""

from pipeline.hub import (
    PYTORCH_FILES,
    SAFETENSORS_FILES,
    TOKENIZER_FILES,
    ModelFiles,
    download_hint,
    hf_download_command,
    locate_model,
    offline_mode,
)

__all__ = [
    "PYTORCH_FILES",
    "SAFETENSORS_FILES",
    "TOKENIZER_FILES",
    "ModelFiles",
    "download_hint",
    "hf_download_command",
    "locate_model",
    "offline_mode",
]
