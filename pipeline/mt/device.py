"""Pick the device for ``translation.device`` (auto, cpu, cuda) for a backend."""

from __future__ import annotations

from pipeline.errors import ConfigError, ConfigIssue


def cuda_available(backend: str) -> bool:
    if backend == "ctranslate2":
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    import torch

    return torch.cuda.is_available()


def resolve_device(setting: str, backend: str) -> str:
    has_cuda = cuda_available(backend)
    if setting == "auto":
        return "cuda" if has_cuda else "cpu"
    if setting == "cuda" and not has_cuda:
        raise ConfigError(
            [
                ConfigIssue(
                    "translation.device", f"is 'cuda' but {backend} sees no CUDA device; use 'auto' or 'cpu'"
                )
            ]
        )
    return setting
