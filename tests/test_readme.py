"""README.md against the real CLI and schema, so its examples cannot drift.

A README block or table that a test here checks carries, right before it, the line
``<!-- checked: tests/test_readme.py::TEST_NAME -->``; the tests find their blocks by that marker.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from pipeline import cli as cli_module
from pipeline.cli import cli
from pipeline.config.schema import ConfigFile
from pipeline.languages import LANGUAGES

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MARKER = re.compile(r"^<!-- checked: tests/test_readme\.py::(\w+) -->$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w-]*)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")


# ---------------------------------------------------------------------------------------------
# Reading the README


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line number in README.md
    text: str

    def where(self) -> str:
        return f"README.md:{self.number}: {self.text.strip()!r}"


@dataclass(frozen=True)
class Block:
    """A fenced code block, or a table, with the tests named by the markers right before it."""

    kind: str  # "code" or "table"
    info: str  # the fence's language ("sh", "cron", ""); "" for tables
    lines: tuple[Line, ...]  # the content, fences excluded
    checked_by: frozenset[str]

    @property
    def start(self) -> int:
        return self.lines[0].number if self.lines else 0


def readme_lines() -> list[Line]:
    return [Line(number, text) for number, text in enumerate(README.read_text("utf-8").splitlines(), 1)]


def readme_blocks() -> list[Block]:
    """Every fenced code block and every table of the README, with the markers above each."""
    lines = readme_lines()
    blocks: list[Block] = []
    markers: set[str] = set()
    index = 0
    while index < len(lines):
        text = lines[index].text
        marker, fence = MARKER.match(text.strip()), FENCE.match(text)
        if marker:
            markers.add(marker.group(1))
            index += 1
            continue
        if fence:
            end = next(
                (k for k in range(index + 1, len(lines)) if lines[k].text.startswith(fence.group(1))),
                len(lines),
            )
            blocks.append(Block("code", fence.group(2), tuple(lines[index + 1 : end]), frozenset(markers)))
            index = end + 1
        elif text.startswith("|"):
            end = next((k for k in range(index, len(lines)) if not lines[k].text.startswith("|")), len(lines))
            blocks.append(Block("table", "", tuple(lines[index:end]), frozenset(markers)))
            index = end
        else:
            index += 1
        if text.strip():
            markers = set()
    return blocks


def checked_blocks(test_name: str, kind: str) -> list[Block]:
    blocks = [b for b in readme_blocks() if test_name in b.checked_by and b.kind == kind]
    assert blocks, (
        f"README.md has no {kind} marked '<!-- checked: tests/test_readme.py::{test_name} -->' "
        "(the marker goes on the line right before the block)"
    )
    return blocks


def split_outside_code(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator``, except inside backticks; each part stripped."""
    found, part, in_code = [], "", False
    for char in text:
        if char == "`":
            in_code = not in_code
        if char == separator and not in_code:
            found.append(part.strip())
            part = ""
        else:
            part += char
    return [*found, part.strip()]


def split_row(text: str) -> list[str]:
    """The cells of a table row; a ``|`` inside backticks belongs to its cell."""
    return split_outside_code(text.strip().strip("|"), "|")


def table_rows(block: Block) -> list[tuple[Line, dict[str, str]]]:
    """``(line, {header: cell})`` for each body row of a table (header and ``|---|`` skipped)."""
    header = split_row(block.lines[0].text)
    rows = []
    for line in block.lines[2:]:
        cells = split_row(line.text)
        assert len(cells) == len(header), f"{line.where()}: {len(cells)} cells, the header has {len(header)}"
        rows.append((line, dict(zip(header, cells, strict=True))))
    return rows


def parts(cell: str) -> list[str]:
    """A cell's comma-separated parts; a comma inside backticks does not separate."""
    return split_outside_code(cell, ",") if cell else []


def code(part: str) -> str | None:
    """The text of a part that is one code span (`` `4` `` → ``4``), else None."""
    match = re.fullmatch(r"`([^`]+)`", part)
    return match.group(1) if match else None


# ---------------------------------------------------------------------------------------------
# The offline-model message is what ``pipeline run`` prints

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
README_ROOT = "/opt/newsroom-pipeline"  # where the README's example runs; the test runs in tmp_path


def normalised(line: str, root: Path) -> str:
    """A stderr line with what legitimately varies made fixed: the time stamp and the folder."""
    return TIMESTAMP.sub("YYYY-MM-DD hh:mm:ss ", line.rstrip()).replace(str(root), README_ROOT)


def test_offline_model_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's example is what ``HF_HUB_OFFLINE=1 pipeline run configs/example.yaml`` prints in
    /opt/newsroom-pipeline with an empty hub cache (here: a copy of the example job in tmp_path)."""
    (block,) = checked_blocks("test_offline_model_message", "code")
    root = tmp_path.resolve()
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copytree(REPO / "examples", root / "examples")
    monkeypatch.setenv("HF_HOME", str(root / "empty-hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE"):
        monkeypatch.delenv(variable, raising=False)
    # A subprocess: huggingface_hub reads HF_HOME and HF_HUB_OFFLINE when it is first imported.
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "configs/example.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == cli_module.EXIT_FAILED_ITEMS, result.stderr
    printed = [normalised(line, root) for line in result.stderr.splitlines()]
    for line in block.lines:
        if line.text.strip():
            assert normalised(line.text, Path(README_ROOT)) in printed, (
                f"{line.where()} is not what `pipeline run` prints; it printed (normalised):\n"
                + "\n".join(printed)
            )


# ---------------------------------------------------------------------------------------------
# Every ``pipeline ...`` command shown uses a command and options that exist

SHELL_OPERATORS = {"&&", "||", "|", ";", "&"}
REDIRECTION = re.compile(r"^\d*(?:>>?|<)(.*)$")
COMMAND_BLOCK_LANGUAGES = {"sh", "bash", "shell", "console", "cron"}


@dataclass(frozen=True)
class Invocation:
    line: Line
    args: tuple[str, ...]  # what follows ``pipeline`` (or ``python -m pipeline``)


def logical_lines(block: Block) -> list[Line]:
    """Shell lines with their ``\\`` continuations joined; numbered by their first line."""
    joined: list[Line] = []
    pending: Line | None = None
    for line in block.lines:
        text = line.text if pending is None else f"{pending.text} {line.text.strip()}"
        current = Line(line.number if pending is None else pending.number, text)
        if text.rstrip().endswith("\\"):
            pending = Line(current.number, text.rstrip()[:-1])
        else:
            joined.append(current)
            pending = None
    return joined


def invocations(line: Line, *, placeholders: bool = False) -> list[Invocation]:
    """The ``pipeline`` commands on one shell line (cron times, ``cd x &&``, env, redirections skipped).

    ``placeholders``: prose syntax, ``[--out FILE]``, is read as ``--out FILE``.
    """
    text = line.text.replace("[", " ").replace("]", " ") if placeholders else line.text
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError as exc:
        raise AssertionError(f"{line.where()}: not a shell line ({exc})") from None
    found, segment = [], []
    for token in [*tokens, ";"]:
        if token not in SHELL_OPERATORS:
            segment.append(token)
            continue
        words = _without_redirections(segment)
        start = next((k for k, word in enumerate(words) if Path(word).name == "pipeline"), None)
        if start is not None:
            found.append(Invocation(line, tuple(words[start + 1 :])))
        segment = []
    return found


def _without_redirections(tokens: list[str]) -> list[str]:
    words, skip = [], False
    for token in tokens:
        redirection = REDIRECTION.match(token)
        if skip:
            skip = False
        elif redirection:
            skip = not redirection.group(1)  # `2>> file`: the file is the next token
        else:
            words.append(token)
    return words


def command_chain(args: tuple[str, ...], *, strict: bool) -> list[tuple[click.Command, list[str]]]:
    """Parse ``args`` as click does: each command from ``pipeline`` down, with its own arguments.

    ``strict``: also fail on missing or extra arguments and bad values (a complete command line);
    otherwise only unknown commands fail here (prose like ``pipeline status CONFIG``).
    """
    context = cli.make_context("pipeline", list(args), resilient_parsing=not strict)
    chain, own = [], list(args)
    while isinstance(context.command, click.Group):
        rest = [*context.protected_args, *context.args]
        if not rest:
            break
        name, command, sub_args = context.command.resolve_command(context, rest)
        if command is None:  # resilient parsing returns None instead of failing
            raise click.UsageError(f"No such command {rest[0]!r}.")
        chain.append((context.command, own[: len(own) - len(rest)]))
        own = sub_args  # parsing consumes the list it is given: click gets a copy
        context = command.make_context(name, list(sub_args), parent=context, resilient_parsing=not strict)
    chain.append((context.command, own))
    return chain


HELP_OPTIONS = set(cli.context_settings.get("help_option_names", ["--help"]))


def option_names(command: click.Command) -> set[str]:
    return HELP_OPTIONS | {
        name
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def unknown_options(command: click.Command, tokens: list[str]) -> list[str]:
    """Tokens that look like options but are none of ``command``'s (``-vv`` counts as ``-v -v``)."""
    known, unknown = option_names(command), []
    for token in tokens:
        if token == "--":
            break
        if not token.startswith("-") or token == "-":
            continue
        name = token.split("=", 1)[0]
        shorts = [f"-{char}" for char in name[1:]] if not name.startswith("--") and len(name) > 2 else [name]
        unknown += [short for short in shorts if short not in known]
    return unknown


def check_invocation(invocation: Invocation, *, strict: bool) -> list[str]:
    """The command's subcommand path, after asserting it parses and every option exists."""
    where = invocation.line.where()
    strict = strict and not HELP_OPTIONS & set(invocation.args)  # parsing --help would print and exit
    try:
        chain = command_chain(invocation.args, strict=strict)
    except click.UsageError as exc:
        command = f"pipeline {shlex.join(invocation.args)}"
        raise AssertionError(f"{where}: `{command}`: {exc.format_message()}") from None
    for command, tokens in chain:
        unknown = unknown_options(command, tokens)
        assert not unknown, (
            f"{where}: `{command.name}` has no option {', '.join(unknown)} "
            f"(it has {', '.join(sorted(option_names(command)))})"
        )
    return [command.name or "" for command, _ in chain[1:]]


def code_block_invocations(blocks: list[Block]) -> list[Invocation]:
    return [
        invocation for block in blocks for line in logical_lines(block) for invocation in invocations(line)
    ]


def test_commands_in_code_blocks_parse() -> None:
    """Every ``pipeline`` command in a marked code block parses, arguments and all, with the real CLI."""
    blocks = checked_blocks("test_commands_in_code_blocks_parse", "code")
    found = code_block_invocations(blocks)
    paths = {" ".join(check_invocation(invocation, strict=True)) for invocation in found}
    # The extraction itself: every command the README teaches is among those found.
    assert paths >= {"validate", "run", "status", "models pull", "models convert", "eval"}, paths


def test_every_code_block_with_a_command_is_marked() -> None:
    """A code block showing a ``pipeline`` command carries the marker, so the test above checks it."""
    for block in readme_blocks():
        if block.kind != "code" or block.info not in COMMAND_BLOCK_LANGUAGES:
            continue
        if code_block_invocations([block]):
            assert "test_commands_in_code_blocks_parse" in block.checked_by, (
                f"README.md:{block.start - 1}: this code block shows `pipeline` commands but has no "
                "'<!-- checked: tests/test_readme.py::test_commands_in_code_blocks_parse -->' line before it"
            )


def test_commands_in_prose_use_existing_commands_and_options() -> None:
    """``pipeline ...`` in inline code (``pipeline status CONFIG``, ``[--out FILE]``): the command and
    every option exist. Arguments are not required: prose shows placeholders and fragments."""
    checked = 0
    fenced = {line.number for block in readme_blocks() if block.kind == "code" for line in block.lines}
    for line in readme_lines():
        if line.number in fenced:
            continue
        for span in INLINE_CODE.findall(line.text):
            if not re.search(r"(^|\s|/)pipeline(\s|$)", span):
                continue
            for invocation in invocations(Line(line.number, span), placeholders=True):
                check_invocation(invocation, strict=False)
                checked += 1
    assert checked >= 5, f"only {checked} `pipeline ...` commands found in the README's prose"


# ---------------------------------------------------------------------------------------------
# The config reference: every key exists, every literal default is the schema's

PLACEHOLDER = re.compile(r"^<\w+>$")
# Defaults the README describes because the schema leaves them unset (None) and the loader or
# a library fills them in; each is checked to be None in the schema and, where it can be, below.
DESCRIBED_DEFAULTS = {
    "languages.<code>.revision": "`main`",
    "languages.<code>.tts.engine": "`tts.engine`",
    "translation.cache_dir": "`$XDG_CACHE_HOME/newsroom-pipeline`",
    "state.path": "`<output_dir>/<job>/state.sqlite`",
    "publish.dir": "`<output_dir>/<job>/public`",
}
REQUIRED = "required"


def documented_keys(test_name: str) -> list[tuple[Line, str, str]]:
    """``(line, key, documented default)`` for each key of the config reference table.

    A row may list several keys, ``tts.gtts.backoff``, ``max_backoff``: the later ones are siblings
    of the first, and the default cell has one part per key.
    """
    (block,) = checked_blocks(test_name, "table")
    keys = []
    for line, row in table_rows(block):
        names = [code(part) for part in parts(row["key"])]
        assert names and all(names), f"{line.where()}: the key cell must be code spans, comma-separated"
        parent = names[0].rpartition(".")[0]
        full = [names[0], *(f"{parent}.{name}" if parent else name for name in names[1:])]
        defaults = parts(row["default"])
        assert len(defaults) == len(full), (
            f"{line.where()}: {len(full)} keys but {len(defaults)} defaults (one per key, comma-separated)"
        )
        keys += [(line, key, default) for key, default in zip(full, defaults, strict=True)]
    return keys


def nested_model(annotation: object) -> type[BaseModel] | None:
    """The pydantic model in a field's type: ``LanguageConfig`` in ``dict[str, LanguageConfig | None]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        model = nested_model(arg)
        if model is not None:
            return model
    return None


def is_mapping(annotation: object) -> bool:
    return typing.get_origin(annotation) is dict


def schema_field(key: str) -> FieldInfo | None:
    """The schema field for a documented key (``languages.<code>.model``), None if there is none."""
    model: type[BaseModel] | None = ConfigFile
    names = key.split(".")
    index = 0
    while model is not None:
        field = model.model_fields.get(names[index])
        if field is None:
            return None
        index += 1
        if index < len(names) and is_mapping(field.annotation) and PLACEHOLDER.match(names[index]):
            index += 1  # `<code>`: any key of this mapping
        if index == len(names):
            return field
        model = nested_model(field.annotation)
    return None


def schema_keys(model: type[BaseModel] = ConfigFile, prefix: str = "") -> set[str]:
    """Every key a config file can set, mapping keys written ``<code>`` (``languages.<code>.model``)."""
    keys = set()
    for name, field in model.model_fields.items():
        nested = nested_model(field.annotation)
        if nested is None:
            keys.add(prefix + name)
        elif is_mapping(field.annotation):
            keys.add(prefix + name)
            keys |= schema_keys(nested, f"{prefix}{name}.<code>.")
        else:
            keys |= schema_keys(nested, f"{prefix}{name}.")
    return keys


def test_config_reference_keys_exist() -> None:
    for line, key, _ in documented_keys("test_config_reference_keys_exist"):
        assert schema_field(key) is not None, (
            f"{line.where()}: `{key}` is not a key of the config schema (pipeline/config/schema.py)"
        )


def test_every_config_key_is_in_the_reference() -> None:
    keys = documented_keys("test_config_reference_keys_exist")
    documented = {re.sub(r"<\w+>", "<code>", key) for _, key, _ in keys}
    missing = sorted(schema_keys() - documented)
    assert not missing, f"config keys missing from README.md's config reference table: {', '.join(missing)}"


def same_default(documented: object, actual: object) -> bool:
    """Equal, where a language mapped to ``{}`` (every default) equals one mapped to None."""
    if isinstance(documented, dict) and isinstance(actual, dict):
        return documented.keys() == actual.keys() and all(
            same_default(documented[k], actual[k]) for k in documented
        )
    return documented == actual or (documented == {} and actual is None)


def test_config_reference_defaults() -> None:
    """A default in code (`` `4` ``, `` `{}` ``) is a YAML literal equal to the schema's default; a
    described one (the job name, none, `` `main` ``) stands for a default the schema leaves None."""
    for line, key, documented in documented_keys("test_config_reference_defaults"):
        field = schema_field(key)
        assert field is not None, f"{line.where()}: `{key}` is not a config key"
        if documented == REQUIRED:
            assert field.is_required(), f"{line.where()}: `{key}` is documented as required but is not"
            continue
        assert not field.is_required(), f"{line.where()}: `{key}` is required, not `{documented}`"
        actual = field.get_default(call_default_factory=True)
        literal = code(documented)
        if key in DESCRIBED_DEFAULTS or literal is None:
            if key in DESCRIBED_DEFAULTS:
                assert documented == DESCRIBED_DEFAULTS[key], (
                    f"{line.where()}: `{key}`'s default changed in the README; update DESCRIBED_DEFAULTS"
                )
            assert actual is None, (
                f"{line.where()}: `{key}` is documented as {documented!r}; the schema default is {actual!r}"
            )
        else:
            assert same_default(yaml.safe_load(literal), actual), (
                f"{line.where()}: `{key}` is documented with default {literal!r}, the schema's is {actual!r}"
            )


def test_described_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the loader makes of the unset keys DESCRIBED_DEFAULTS names, for a minimal config."""
    from huggingface_hub.constants import DEFAULT_REVISION

    from pipeline.config import load_config

    monkeypatch.delenv("PIPELINE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "a.txt").write_text("date 2024-01-01\n\nA paragraph.\n", "utf-8")
    (tmp_path / "job.yaml").write_text("job: j\ninput: {paths: [a.txt]}\n", "utf-8")
    job = load_config(tmp_path / "job.yaml")
    assert job.state_path == tmp_path / "outputs" / "j" / "state.sqlite"  # <output_dir>/<job>/state.sqlite
    assert job.public_dir == tmp_path / "outputs" / "j" / "public"  # <output_dir>/<job>/public
    assert job.translation.cache_dir == str(tmp_path / "xdg" / "newsroom-pipeline")
    for target in job.targets:
        assert target.tts_engine == job.tts.engine  # languages.<code>.tts.engine: `tts.engine`
        assert target.tts_voice == target.code  # languages.<code>.tts.voice: the code
        assert target.revision is None
    assert DEFAULT_REVISION == "main"  # a hub model without a revision is fetched at `main`


def test_language_defaults_table() -> None:
    """The per-language defaults (model, lang_token, disclosure) are those of pipeline/languages.py."""
    (block,) = checked_blocks("test_language_defaults_table", "table")
    documented = set()
    for line, row in table_rows(block):
        language = LANGUAGES.get(code(row["code"]) or "")
        assert language is not None, f"{line.where()}: not a language of pipeline/languages.py"
        documented.add(language.code)
        for column, actual in [
            ("model", language.default_model),
            ("lang_token", language.default_lang_token),
            ("disclosure", language.default_disclosure),
        ]:
            cell = row[column]
            value = None if cell == "—" else code(cell) or cell
            assert value == actual, f"{line.where()}: {column} is {actual!r} in pipeline/languages.py"
    with_defaults = {code for code, language in LANGUAGES.items() if language.default_model}
    assert documented == with_defaults, f"languages with default models: {sorted(with_defaults)}"


# ---------------------------------------------------------------------------------------------
# The exit code table is the CLI's

# Words a row must contain, so that two codes swapped in the table fail too.
EXIT_CODE_WORDS = {
    "EXIT_OK": "everything",
    "EXIT_FAILED_ITEMS": "failed",
    "EXIT_CONFIG": "config",
    "EXIT_LOCKED": "lock",
}
SIGNALS = (signal.SIGINT, signal.SIGTERM)  # the CLI exits 128 + the signal's number


def test_exit_code_table() -> None:
    (block,) = checked_blocks("test_exit_code_table", "table")
    documented: dict[int, tuple[Line, str]] = {}
    for line, row in table_rows(block):
        for part in parts(row["code"]):
            assert part.isdigit(), f"{line.where()}: {part!r} is not an exit code"
            assert int(part) not in documented, f"{line.where()}: exit code {part} is documented twice"
            documented[int(part)] = (line, row["meaning"])
    constants = {
        name: value
        for name, value in vars(cli_module).items()
        if name.startswith("EXIT_") and isinstance(value, int)
    }
    expected = set(constants.values()) | {128 + number for number in SIGNALS}
    assert set(documented) == expected, (
        f"README.md exit codes {sorted(documented)}; pipeline.cli has {constants} and "
        f"128 + {', '.join(s.name for s in SIGNALS)}"
    )
    for name, word in EXIT_CODE_WORDS.items():
        assert name in constants, f"pipeline.cli has no {name} any more; update EXIT_CODE_WORDS"
        line, meaning = documented[constants[name]]
        assert word in meaning, f"{line.where()}: code {constants[name]} is {name}; expected {word!r} in it"
    for number in SIGNALS:
        line, meaning = documented[128 + number]
        assert number.name in meaning, f"{line.where()}: code {128 + number} is {number.name}"


# ---------------------------------------------------------------------------------------------
# The markers themselves


def test_markers_name_tests_of_this_file() -> None:
    tests = {name for name, value in globals().items() if name.startswith("test_") and callable(value)}
    for line in readme_lines():
        marker = MARKER.match(line.text.strip())
        if marker:
            assert marker.group(1) in tests, f"{line.where()}: no test {marker.group(1)} in {__file__}"
        else:
            assert "checked:" not in line.text or "<!--" not in line.text, (
                f"{line.where()}: malformed marker; write "
                "'<!-- checked: tests/test_readme.py::TEST_NAME -->' alone on its line"
            )
