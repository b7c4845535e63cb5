"""Pick the torch device for ``translation.device`` (auto, cpu, cuda)."""

from __future__ import annotations

from pipeline.errors import ConfigError, ConfigIssue


def resolve_device(setting: str) -> str:
    import torch

    has_cuda = torch.cuda.is_available()
    if setting == "auto":
        return "cuda" if has_cuda else "cpu"
    if setting == "cuda" and not has_cuda:
        raise ConfigError(
            [
                ConfigIssue(
                    "translation.device", "is 'cuda' but PyTorch sees no CUDA device; use 'auto' or 'cpu'"
                )
            ]
        )
    return setting
