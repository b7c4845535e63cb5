"""``--set key.path=value`` overrides from the command line, merged into the file's data.

Values are read as YAML scalars or flow collections (``2`` is a number, ``true`` a boolean,
``[a, b]`` a list). Relative paths given on the command line are taken from the current directory,
as a shell user expects, not from the config file's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipeline.config.yaml_source import KeyPath
from pipeline.errors import ConfigError, ConfigIssue

ORIGIN = "--set"


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """The key path and value of one ``KEY.PATH=VALUE``: the value as YAML, else the text as typed.

    Raises:
        ConfigError: ``text`` has no ``=`` or an empty key part.
    """
    key, sep, raw = text.partition("=")
    parts = tuple(part.strip() for part in key.split("."))
    if not sep or not all(parts):
        raise ConfigError([ConfigIssue("", f"expected KEY.PATH=VALUE, got {text!r}", origin=ORIGIN)])
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw  # not YAML (an unbalanced bracket, say): keep it as the string typed
    return parts, value


def apply_overrides(
    data: dict[str, Any], overrides: list[str], cwd: Path
) -> tuple[dict[str, Any], list[KeyPath]]:
    """Return the merged data and the key paths that came from the command line.

    ``data`` is changed in place. Relative paths given for path settings (``output_dir``,
    ``state.path``, ``input.paths``, a local model...) are made absolute from ``cwd``.

    Raises:
        ConfigError: an override is malformed or sets a key below one that is not a mapping (one
            issue for each such override).
    """
    issues: list[ConfigIssue] = []
    applied: list[KeyPath] = []
    for text in overrides:
        try:
            key_path, value = parse_override(text)
        except ConfigError as exc:
            issues.extend(exc.issues)
            continue
        value = _absolutize(key_path, value, cwd)
        node = data
        for depth, part in enumerate(key_path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                dotted = ".".join(key_path[: depth + 1])
                issues.append(ConfigIssue(dotted, f"is not a mapping, cannot set {text!r}", origin=ORIGIN))
                break
            node = child
        else:
            node[key_path[-1]] = value
            applied.append(key_path)
    if issues:
        raise ConfigError(issues)
    return data, applied


def looks_like_local_path(value: str, base: Path) -> bool:
    """A model value that names a directory rather than a hub id.

    True if it starts like a path (``/``, ``./``, ``../``, ``~``) or names a folder under ``base``.
    """
    return value.startswith(("/", "./", "../", "~", ".\\")) or (base / value).is_dir()


def _absolutize(key_path: KeyPath, value: Any, cwd: Path) -> Any:
    def absolute(path: str) -> str:
        expanded = Path(path).expanduser()
        return str(expanded if expanded.is_absolute() else cwd / expanded)

    if key_path in (("output_dir",), ("state", "path"), ("translation", "cache_dir")) and isinstance(
        value, str
    ):
        return absolute(value)
    if key_path == ("input", "paths"):
        if isinstance(value, str):
            return [absolute(value)]
        if isinstance(value, list):
            return [absolute(item) if isinstance(item, str) else item for item in value]
    is_model = len(key_path) == 3 and key_path[0] == "languages" and key_path[2] == "model"
    if is_model and isinstance(value, str) and looks_like_local_path(value, cwd):
        return absolute(value)
    return value
