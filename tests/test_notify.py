"""Alerts: the run summary, and the webhook at the HTTP boundary (a local server on 127.0.0.1):
the body it gets, a 500, a refused connection, a webhook that hangs or trickles, and the config."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.config.loader import JobConfig
from pipeline.config.schema import NotifyConfig
from pipeline.errors import ConfigError, InputError, SpeechUnavailableError
from pipeline.executor.run_report import RunReport
from pipeline.items import Failure
from pipeline.notify import MAX_FAILURES, notify_run, run_summary

from .conftest import WriteConfig
from .fakes import Reply, ScriptedServer, http_reply

MARGIN = 1.5  # seconds a warning and a thread hand-over may take beyond notify.timeout


def job_config(tmp_path: Path, **notify: object) -> JobConfig:
    (tmp_path / "a.txt").write_text("date 2024-01-01\n\nA paragraph.\n", "utf-8")
    (tmp_path / "job.yaml").write_text("job: night\ninput: {paths: [a.txt]}\n", "utf-8")
    config = load_config(tmp_path / "job.yaml")
    return dataclasses.replace(config, notify=NotifyConfig.model_validate(notify))


def a_report(tmp_path: Path, failed: int = 2) -> RunReport:
    report = RunReport(tmp_path / "out/night", tmp_path / "out/night/manifest.json")
    report.todo, report.up_to_date, report.done = 6, 40, 6 - failed
    source = tmp_path / "articles/storm.txt"
    report.failures = [
        Failure(
            source, "storm", "narration", SpeechUnavailableError("429 Too Many Requests after 5 tries"), "sq"
        ),
        Failure(source, "storm", "narration", SpeechUnavailableError("the TTS endpoint is down"), "uk"),
    ][:failed]
    return report


def webhook_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "pipeline.notify" and r.levelno >= logging.WARNING
    ]


def test_the_summary_of_a_run_with_failures(tmp_path: Path) -> None:
    report = a_report(tmp_path)
    broken = tmp_path / "articles/empty.txt"
    report.ingest_failures = [Failure(broken, "empty", "read", InputError(broken, "empty file"))]
    summary = run_summary("night", report, 1, run_id=12, log_path=tmp_path / "logs/run.log")
    assert summary["job"] == "night"
    assert summary["run_id"] == 12
    assert summary["exit_code"] == 1
    assert summary["status"] == "failed"
    assert summary["counts"] == {"todo": 6, "up_to_date": 40, "done": 4, "failed": 2 + 1}
    assert summary["failures"] == [
        {"article_id": "empty", "language": None, "stage": "read", "error": f"{broken}: empty file"},
        {"article_id": "storm", "language": "sq", "stage": "narration",
         "error": "429 Too Many Requests after 5 tries"},
        {"article_id": "storm", "language": "uk", "stage": "narration", "error": "the TTS endpoint is down"},
    ]  # fmt: skip
    assert summary["log"] == str(tmp_path / "logs/run.log")
    assert summary["text"].startswith(f"night on {summary['host']}: run 12 failed (exit 1): 4 done, 3 failed")
    json.dumps(summary)  # JSON as it is


def test_the_summary_of_a_crash_and_of_a_long_failure_list(tmp_path: Path) -> None:
    summary = run_summary("night", None, 1, error="run stopped by an unexpected error: KeyError: 'x'")
    assert (summary["status"], summary["counts"]["failed"], summary["failures"]) == ("error", 0, [])
    assert summary["text"].endswith("; run stopped by an unexpected error: KeyError: 'x'")
    summary = run_summary("night", None, 2, log_path="/var/log/x.log")
    assert summary["text"].endswith(": run error (exit 2): 0 done, 0 failed, 0 up to date; "
                                    "it stopped before it finished: see /var/log/x.log")  # fmt: skip
    report = a_report(tmp_path)
    report.failures = report.failures[:1] * (MAX_FAILURES + 5)
    summary = run_summary("night", report, 1)
    assert (len(summary["failures"]), summary["failures_omitted"]) == (MAX_FAILURES, 5)


def test_the_webhook_gets_the_summary_after_a_run_with_failures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    summary = run_summary("night", a_report(tmp_path), 1, run_id=3, log_path="/var/log/run.log")
    with ScriptedServer([http_reply("", "204 No Content")]) as server:
        notify_run(job_config(tmp_path, webhook=f"{server.url}/hooks/T0KEN?key=s3cret"), summary)
    ((head, body),) = server.requests
    assert head.startswith("POST /hooks/T0KEN?key=s3cret HTTP/1.1\r\n")
    assert "content-type: application/json; charset=utf-8" in head.lower()
    assert json.loads(body) == summary
    assert webhook_warnings(caplog) == []
    assert f"notify.webhook {server.url}/…: alert sent (HTTP 204)" in caplog.messages


def test_a_clean_run_sends_nothing_unless_notify_on_always(tmp_path: Path) -> None:
    summary = run_summary("night", a_report(tmp_path, failed=0), 0)
    with ScriptedServer([http_reply("ok")]) as server:
        notify_run(job_config(tmp_path, webhook=server.url), summary)
        assert server.requests == []
        notify_run(job_config(tmp_path, webhook=server.url, on="always"), summary)
        deadline = time.monotonic() + 5
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [json.loads(body)["status"] for _, body in server.requests] == ["ok"]
    interrupted = a_report(tmp_path, failed=0)
    interrupted.interrupted = True  # stopped by SIGTERM (a RuntimeMaxSec= night): worth an alert
    with ScriptedServer([http_reply("ok")]) as server:
        notify_run(job_config(tmp_path, webhook=server.url), run_summary("night", interrupted, 143))
    assert [json.loads(body)["status"] for _, body in server.requests] == ["interrupted"]


def test_no_webhook_no_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    posted: list[object] = []
    monkeypatch.setattr("pipeline.notify.requests.post", lambda *args, **kwargs: posted.append(args))
    caplog.set_level(logging.DEBUG, logger="pipeline.notify")
    config = job_config(tmp_path)
    assert config.notify.webhook is None and config.notify.on == "failures"
    notify_run(config, run_summary("night", a_report(tmp_path), 1))  # failures: an alert would be due
    assert posted == []
    assert [r.getMessage() for r in caplog.records if r.name == "pipeline.notify"] == []


def test_a_500_is_one_warning_and_no_exception(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with ScriptedServer([http_reply("boom", "500 Internal Server Error")]) as server:
        notify_run(job_config(tmp_path, webhook=f"{server.url}/hook/T0KEN"), run_summary("night", None, 1))
    assert len(server.requests) == 1
    assert webhook_warnings(caplog) == [f"notify.webhook {server.url}/…: HTTP 500; alert not accepted"]


def test_a_refused_connection_is_one_warning_without_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://user:pw@127.0.0.1:{port}/hook/T0KEN"
    notify_run(job_config(tmp_path, webhook=url), run_summary("night", None, 1))
    (warning,) = webhook_warnings(caplog)
    assert warning.startswith(f"notify.webhook http://127.0.0.1:{port}/…: alert failed: ConnectionError: ")
    assert "T0KEN" not in warning and "pw" not in warning


@pytest.mark.parametrize(
    "reply",
    [
        Reply(http_reply("ok"), trickle=3600),  # accepts, reads the request, never answers
        Reply(http_reply("x" * 100), trickle=0.2),  # a byte every 0.2 s: each read is quick, the whole is not
    ],
    ids=["hang", "trickle"],
)
def test_a_webhook_that_hangs_or_trickles_is_cut_at_the_deadline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, reply: Reply
) -> None:
    with ScriptedServer([reply]) as server:
        config = job_config(tmp_path, webhook=server.url, timeout=1)
        started = time.monotonic()
        notify_run(config, run_summary("night", None, 1))
        elapsed = time.monotonic() - started
    assert 1 <= elapsed < 1 + MARGIN
    assert len(server.requests) == 1
    assert webhook_warnings(caplog) == [
        f"notify.webhook {server.url}: no reply within 1 s (notify.timeout); alert not confirmed"
    ]


def test_notify_keys_and_defaults(tmp_path: Path) -> None:
    assert job_config(tmp_path).notify == NotifyConfig(webhook=None, on="failures", timeout=10.0)
    (tmp_path / "bad.yaml").write_text(
        "job: night\ninput: {paths: [a.txt]}\nnotify: {webhook: ftp://x, on: sometimes, timeout: 0}\n",
        "utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "bad.yaml")
    assert sorted(issue.key for issue in raised.value.issues) == [
        "notify.on",
        "notify.timeout",
        "notify.webhook",
    ]
    assert [issue.line for issue in raised.value.issues] == [3, 3, 3]
    config = load_config(
        tmp_path / "job.yaml", ["notify.webhook=https://hooks.example/x", "notify.on=always"]
    )
    assert (config.notify.webhook, config.notify.on) == ("https://hooks.example/x", "always")
    # a bare `on:` is YAML 1.1's boolean true; it still means notify.on
    (tmp_path / "good.yaml").write_text(
        "job: night\ninput: {paths: [a.txt]}\nnotify:\n  webhook: http://h/x\n  on: always\n  timeout: 2.5\n",
        "utf-8",
    )
    assert load_config(tmp_path / "good.yaml").notify == NotifyConfig(
        webhook="http://h/x", on="always", timeout=2.5
    )


def test_a_real_run_report_makes_a_summary(write_config: WriteConfig, articles: Path, tmp_path: Path) -> None:
    """The summary is built from what ``run_job`` returns (the protocol matches the real report)."""
    from pipeline.executor.run import run_job

    (articles / "empty.txt").write_text("", "utf-8")
    config = load_config(write_config())
    report = run_job(config)
    summary = run_summary(config.job, report, 1 if report.failed else 0)
    assert summary["status"] == "failed"
    assert summary["counts"]["failed"] == 2  # the empty file, in both languages
    assert summary["counts"]["done"] == report.done > 0
    assert [(f["article_id"], f["language"], f["stage"]) for f in summary["failures"]] == [
        ("empty", None, "ingest")
    ]
    assert summary["failures"][0]["error"].endswith("empty.txt: empty file")


def test_pipeline_run_alerts_and_keeps_its_exit_code(write_config: WriteConfig, articles: Path) -> None:
    """End to end: a run with a failed article POSTs its summary; a webhook answering 500, or one
    that hangs, is a warning and the exit codes stay 1 and 0."""
    (articles / "empty.txt").write_text("", "utf-8")
    with ScriptedServer([http_reply("no", "500 Internal Server Error")]) as server:
        config = write_config(notify={"webhook": f"{server.url}/hook"})
        result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)], catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    ((_, body),) = server.requests
    summary = json.loads(body)
    assert (summary["job"], summary["exit_code"], summary["status"]) == ("test", 1, "failed")
    assert [(f["article_id"], f["language"]) for f in summary["failures"]] == [("empty", None)]
    assert summary["counts"]["failed"] == 2
    assert Path(summary["log"]).is_file()
    assert f"notify.webhook {server.url}/…: HTTP 500; alert not accepted" in result.stderr

    (articles / "empty.txt").unlink()
    with ScriptedServer([Reply(http_reply("ok"), trickle=0.5)]) as server:  # its head alone: 30 s
        config = write_config(notify={"webhook": server.url, "on": "always", "timeout": 1})
        started = time.monotonic()
        result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)], catch_exceptions=False)
        elapsed = time.monotonic() - started
        assert len(server.requests) == 1
    assert result.exit_code == 0, result.stderr
    assert elapsed < 15  # the run takes a few seconds, the webhook 1 more, not 30
    assert "no reply within 1 s (notify.timeout)" in result.stderr
