"""Read a YAML config file into plain data plus the line of every key, for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError, ConfigIssue

KeyPath = tuple[str | int, ...]


@dataclass
class YamlSource:
    """The parsed data, the file it came from and the line (1-based) of each key path."""

    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """Line of the key path, or of its nearest parent that appears in the file."""
        for end in range(len(key_path), 0, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return line
        return None


def read_yaml(path: Path) -> YamlSource:
    """The config file at ``path``, parsed, with the line of each key path.

    Raises:
        ConfigError: the file cannot be read, is not YAML, is empty, is not a mapping, or repeats a
            key in one mapping (one issue per duplicate, with its line).
    """
    origin = str(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue("", "config file not found", origin=origin)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue("", f"cannot read config file: {exc}", origin=origin)]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([ConfigIssue("", f"YAML syntax error: {problem}", line, origin)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue("", f"YAML error: {exc}", origin=origin)]) from None
    if data is None or node is None:  # no document: both are None
        raise ConfigError([ConfigIssue("", "the config file is empty", origin=origin)])
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError([ConfigIssue("", f"the config must be a mapping of keys, not a {kind}", 1, origin)])
    lines: dict[KeyPath, int] = {}
    duplicates: list[ConfigIssue] = []
    _index(node, (), lines, duplicates, origin)
    if duplicates:
        raise ConfigError(duplicates)
    return YamlSource(path, data, lines)


def _index(
    node: yaml.Node,
    prefix: KeyPath,
    lines: dict[KeyPath, int],
    duplicates: list[ConfigIssue],
    origin: str,
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            path = (*prefix, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                dotted = ".".join(str(part) for part in path)
                duplicates.append(ConfigIssue(dotted, "duplicate key", line, origin))
            seen.add(key)
            lines[path] = line
            _index(value_node, path, lines, duplicates, origin)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            lines[path] = item.start_mark.line + 1
            _index(item, path, lines, duplicates, origin)
