"""Job configuration: the YAML schema, ``--set`` overrides and the resolved ``JobConfig``."""

from pipeline.config.loader import JobConfig, TargetConfig, load_config
from pipeline.config.schema import QualityConfig, TranslationConfig, TtsConfig

__all__ = ["JobConfig", "QualityConfig", "TargetConfig", "TranslationConfig", "TtsConfig", "load_config"]
