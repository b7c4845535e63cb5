"""The review app against what a web tester tries, on a real job (tiny models, no narration): links
planted in the job folder are never followed, no answer carries a server path or a PID, the Host
check accepts the address the app is bound to, and invisible characters are refused in editors'
names and flagged in their edits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from pipeline.cli import cli
from pipeline.cli.serve import url
from pipeline.config import load_config
from pipeline.editor.app import create_app
from pipeline.editor.files import open_regular, regular_below
from pipeline.editor.security import SecurityMiddleware, allowed_hosts
from pipeline.editor.service import EditorService

from .conftest import SAMPLE_ARTICLES, WriteConfig

ARTICLE = SAMPLE_ARTICLES[0].stem
BASE = "http://127.0.0.1:8765"


@pytest.fixture
def job(write_config: WriteConfig, tiny_models: dict[str, Path], articles: Path) -> Path:
    """A job run once: uk text only."""
    config = write_config(languages={"uk": {"model": str(tiny_models["uk"]), "tts": {"engine": "none"}}})
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return config


@pytest.fixture
def service(job: Path) -> Iterator[EditorService]:
    service = EditorService(load_config(job))
    yield service
    service.close()


@pytest.fixture
def client(service: EditorService) -> Iterator[TestClient]:
    app = create_app(service, token=None, allowed_hosts=allowed_hosts("127.0.0.1", 8765))
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as test_client:
        yield test_client


def folder_of(service: EditorService) -> Path:
    return service.config.job_dir / ARTICLE / "uk"


def sentences(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for paragraph in view["paragraphs"] for s in paragraph]


# ---- files: regular files only, no link at any level ---------------------------------------------


def test_a_delivered_file_is_served(client: TestClient, service: EditorService) -> None:
    response = client.get(f"/articles/{ARTICLE}/uk/article.txt")
    assert response.status_code == 200
    assert response.content == (folder_of(service) / "article.txt").read_bytes()
    ranged = client.get(f"/articles/{ARTICLE}/uk/article.txt", headers={"Range": "bytes=2-5"})
    assert ranged.status_code == 206 and ranged.content == response.content[2:6]


@pytest.mark.parametrize("target", ["secret", "state"])
@pytest.mark.parametrize("name", ["article.txt", "transcript.vtt"])
def test_a_link_in_the_job_folder_is_not_followed(
    client: TestClient, service: EditorService, tmp_path: Path, name: str, target: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    planted = folder_of(service) / name
    planted.unlink(missing_ok=True)
    planted.symlink_to(secret if target == "secret" else Path("../..") / service.config.state_path.name)
    response = client.get(f"/articles/{ARTICLE}/uk/{name}")
    assert response.status_code == 404, response.text
    assert "root:" not in response.text and "SQLite" not in response.text


def test_a_linked_language_or_article_folder_is_a_404_not_a_500(
    client: TestClient, service: EditorService, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    folder_of(service).rename(outside)
    folder_of(service).symlink_to(outside)
    assert client.get(f"/articles/{ARTICLE}/uk/article.txt").status_code == 404
    assert client.get(f"/articles/{ARTICLE}/").status_code == 404
    assert client.get(f"/api/articles/{ARTICLE}/uk").status_code == 404


def test_a_fifo_or_a_folder_is_not_served(client: TestClient, service: EditorService) -> None:
    folder = folder_of(service)
    (folder / "article.txt").unlink()
    os.mkfifo(folder / "article.txt")
    (folder / "article.json").unlink()
    (folder / "article.json").mkdir()
    assert client.get(f"/articles/{ARTICLE}/uk/article.txt").status_code == 404
    assert client.get(f"/articles/{ARTICLE}/uk/article.json").status_code == 404


def test_a_file_swapped_for_a_link_after_the_check_is_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "job"
    (root / "a" / "uk").mkdir(parents=True)
    served = root / "a" / "uk" / "article.txt"
    served.write_text("published")
    assert regular_below(root, served)
    assert not regular_below(root, tmp_path / "elsewhere.txt")
    served.unlink()
    served.symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text("secret")
    assert not regular_below(root, served)
    served.unlink()
    served.symlink_to(root / "state.sqlite")  # a link inside the job's folder is not followed either
    (root / "state.sqlite").write_text("SQLite format 3")
    assert not regular_below(root, served)
    with pytest.raises(FileNotFoundError):
        open_regular(served)


# ---- the Host check accepts the address the app is bound to -------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.2", "127.8.9.10", "127.0.0.1", "localhost", "::1", "[::1]"])
def test_the_printed_link_is_accepted_on_any_loopback_bind(host: str) -> None:
    link = url(host, 8765, None)
    ok = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    app = SecurityMiddleware(ok, token=None, allowed_hosts=allowed_hosts(host, 8765))
    with TestClient(app, base_url=link) as test_client:
        response = test_client.get("/", headers={"Host": urlsplit(link).netloc})
        assert response.status_code == 200, (link, response.text)
        assert test_client.get("/", headers={"Host": "127.0.0.3:8765"}).status_code == 400
        assert test_client.get("/", headers={"Host": "evil.example:8765"}).status_code == 400
