"""The systemd units in configs/systemd/: they verify, their sandbox scores below 5.0 in
``systemd-analyze security``, and what they run is a command the CLI accepts with a config it loads.

``systemd-analyze`` comes with the ``systemd`` package; without it (outside CI) the tests that need it
are skipped. They need no running systemd: ``verify`` and ``security --offline=yes`` read unit files.
"""

from __future__ import annotations

import itertools
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import cli as cli_module
from pipeline.config import load_config

from .conftest import REPO
from .requirements import needs_program
from .test_readme import Line, check_invocation, invocations

UNITS = REPO / "configs" / "systemd"
SERVICE, TIMER, NOTIFY = "pipeline@.service", "pipeline@.timer", "pipeline-notify@.service"
REVIEW = "pipeline-review@.service"
INSTANCE = "example"  # pipeline@example.service runs configs/example.yaml
SPECIFIERS = {"%i": INSTANCE, "%S": "/var/lib", "%C": "/var/cache", "%n": f"pipeline@{INSTANCE}.service"}
MAX_EXPOSURE = 5.0

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = needs_program("systemd-analyze", "systemd")


def read_unit(name: str) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values, in order]}}``: a key may repeat (``Environment=``)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (UNITS / name).read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key, [])
    assert len(values) == 1, f"{key}= is set {len(values)} times"
    return values[0]


def expand(value: str) -> str:
    for specifier, meaning in SPECIFIERS.items():
        value = value.replace(specifier, meaning)
    return value


def seconds(span: str) -> float:
    units = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span):
        total += float(number) * units[unit or "s"]
    return total


def environment(service: dict[str, list[str]]) -> dict[str, str]:
    return dict(expand(value).split("=", 1) for value in service.get("Environment", []))


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The units as instances in a folder, the way ``systemctl`` would find them; ExecStart's program,
    which lives in /opt/newsroom-pipeline on a server, points at this test run's ``pipeline``."""
    program = Path(sys.executable).with_name("pipeline")
    program = program if program.is_file() else Path(shutil.which("true") or "/bin/true")
    service = (UNITS / SERVICE).read_text("utf-8")
    shipped = one(read_unit(SERVICE)["Service"], "ExecStart").split()[0]
    (tmp_path / f"pipeline@{INSTANCE}.service").write_text(service.replace(shipped, str(program)), "utf-8")
    shutil.copy(UNITS / TIMER, tmp_path / f"pipeline@{INSTANCE}.timer")
    shutil.copy(UNITS / NOTIFY, tmp_path / f"pipeline-notify@pipeline@{INSTANCE}.service.service")
    review = (UNITS / REVIEW).read_text("utf-8")
    (tmp_path / f"pipeline-review@{INSTANCE}.service").write_text(
        review.replace(shipped, str(program)), "utf-8"
    )
    return tmp_path


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None, "systemd-analyze is not installed (apt-get install systemd)"
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=120, check=False)


@needs_analyze
def test_the_units_verify(installed: Path) -> None:
    """``systemd-analyze verify``: every key known, every value valid, the programs exist."""
    result = analyze("verify", *map(str, sorted(installed.iterdir())))
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr
    )


@needs_analyze
@pytest.mark.parametrize(
    "unit",
    [
        f"pipeline@{INSTANCE}.service",
        f"pipeline-notify@pipeline@{INSTANCE}.service.service",
        f"pipeline-review@{INSTANCE}.service",
    ],
)
def test_the_sandbox_exposure_is_below_5(installed: Path, unit: str) -> None:
    result = analyze("security", "--offline=yes", "--no-pager", str(installed / unit))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) < MAX_EXPOSURE, result.stdout


def test_the_service_runs_a_command_the_cli_accepts() -> None:
    """ExecStart= is ``<WorkingDirectory>/.venv/bin/pipeline run configs/<instance>.yaml ...``, it
    parses with the real CLI, and the example config loads with its ``--set`` overrides."""
    service = read_unit(SERVICE)["Service"]
    words = shlex.split(expand(one(service, "ExecStart")))
    assert words[0] == f"{one(service, 'WorkingDirectory')}/.venv/bin/pipeline"
    (invocation,) = invocations(Line(0, shlex.join(words)))
    assert check_invocation(invocation, strict=True) == ["run"]
    assert invocation.args[:2] == ("run", f"configs/{INSTANCE}.yaml")
    overrides = [value for option, value in itertools.pairwise(words) if option == "--set"]
    config = load_config(REPO / "configs" / f"{INSTANCE}.yaml", overrides)
    assert config.state_path == Path("/var/lib") / one(service, "StateDirectory") / f"{INSTANCE}.sqlite"


def test_the_review_app_serves_the_nightly_job_s_state_on_loopback() -> None:
    """pipeline-review@ runs ``pipeline serve`` on the config and the state the nightly unit uses,
    with the same user, folder and writable paths; its command parses with the real CLI."""
    nightly, review = read_unit(SERVICE)["Service"], read_unit(REVIEW)["Service"]
    words = shlex.split(expand(one(review, "ExecStart")))
    (invocation,) = invocations(Line(0, shlex.join(words)))
    assert check_invocation(invocation, strict=True) == ["serve"]
    assert invocation.args[:2] == ("serve", f"configs/{INSTANCE}.yaml") and "--host" not in words
    for key in ("User", "WorkingDirectory", "ReadWritePaths", "StateDirectory", "CacheDirectory"):
        assert review[key] == nightly[key], key
    nightly_words = shlex.split(expand(one(nightly, "ExecStart")))
    state = [value for option, value in itertools.pairwise(nightly_words) if option == "--set"]
    assert [value for option, value in itertools.pairwise(words) if option == "--set"] == state


def test_state_and_caches_live_in_systemd_s_folders() -> None:
    service = read_unit(SERVICE)["Service"]
    env = environment(service)
    cache = Path("/var/cache") / one(service, "CacheDirectory")
    assert Path(env["HF_HOME"]).parent == cache
    assert Path(env["PIPELINE_CACHE_DIR"]).parent == cache
    assert env["HF_HUB_OFFLINE"] == "1"
    assert one(service, "StateDirectory")  # holds the state file (see the test above)


def test_the_outputs_are_the_only_writable_path_of_the_checkout() -> None:
    service = read_unit(SERVICE)["Service"]
    assert one(service, "ProtectSystem") == "strict"
    writable = [value.lstrip("-") for value in service["ReadWritePaths"]]
    checkout = Path(one(service, "WorkingDirectory"))
    example = yaml.safe_load((REPO / "configs" / f"{INSTANCE}.yaml").read_text("utf-8"))
    output_dir = (REPO / "configs" / example["output_dir"]).resolve().relative_to(REPO)
    assert writable == [str(checkout / output_dir)]
    for key, value in [("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes")]:
        assert one(service, key) == value


def test_a_hung_night_is_stopped_before_the_next_and_a_failed_one_alerts() -> None:
    unit = read_unit(SERVICE)
    service = unit["Service"]
    # RuntimeMaxSec= has no effect on Type=oneshot; the default Type (simple) would do, exec is better.
    assert one(service, "Type") in ("exec", "simple")
    limit = seconds(one(service, "RuntimeMaxSec"))
    timer = read_unit(TIMER)["Timer"]
    assert one(timer, "OnCalendar") == "*-*-* 02:00:00"  # daily: the next night starts 24 h later
    assert (
        0
        < limit + seconds(one(service, "TimeoutStopSec")) + seconds(one(timer, "RandomizedDelaySec"))
        < 86400
    )
    # stopped by RuntimeMaxSec= the job exits 143 after recording; the unit still counts as failed
    # (result "timeout"), so OnFailure= fires.
    codes = {int(code) for code in one(service, "SuccessExitStatus").split()}
    assert codes == {cli_module.EXIT_LOCKED, 128 + signal.SIGTERM}
    handler = one(unit["Unit"], "OnFailure")
    assert handler == "pipeline-notify@%n.service"
    assert (UNITS / handler.replace("%n", "")).is_file()
    notify = read_unit(NOTIFY)["Service"]
    assert "%i" in one(notify, "ExecStart")  # names the unit that failed


def test_the_review_app_has_room_for_its_connections_under_its_open_file_limit() -> None:
    """The unit sets ``LimitNOFILE=``, with room beyond ``review.max_connections`` for the accepts in
    flight and the app's own files (a flood of silent clients meets the cap, not the limit)."""
    from pipeline.cli.connections import ACCEPT_BACKLOG
    from pipeline.config.schema import ReviewConfig

    limit = int(one(read_unit(REVIEW)["Service"], "LimitNOFILE"))
    assert limit >= ReviewConfig().max_connections + 3 * ACCEPT_BACKLOG + 100
