"""The dependency analyser on tricky requirement files and on pyproject.toml."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gatehouse.cli import app
from gatehouse.devtools.deps import INDEX_URL_ENV, analyze

HTTPX = metadata.version("httpx")
PYDANTIC = metadata.version("pydantic")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_tricky_requirements_file(tmp_path: Path) -> None:
    _write(tmp_path, "base.txt", f"pydantic>={PYDANTIC}  # the models\n")
    path = _write(
        tmp_path,
        "requirements.txt",
        "# tools\n"
        "-r base.txt\n"
        "--index-url https://example.invalid/simple\n"
        f"httpx[http2]=={HTTPX} ; python_version >= '3.8'\n"
        "uvicorn[standard] >=0.20, <1000 \\\n"
        "    # continued\n"
        "\n"
        "not-installed-package-xyz==1.0\n"
        "ancient ; python_version < '3.0'\n"
        "mylib @ https://example.invalid/mylib-1.0.tar.gz\n"
        "httpx<0.1\n",
    )
    report = analyze(path)
    by_name = {(r.name, r.source): r for r in report.requirements}
    names = [r.name for r in report.requirements]
    assert names == [
        "pydantic",
        "httpx",
        "uvicorn",
        "not-installed-package-xyz",
        "ancient",
        "mylib",
        "httpx",
    ]
    pydantic = by_name[("pydantic", "base.txt:1")]
    assert (pydantic.installed, pydantic.satisfied) == (PYDANTIC, True)
    httpx_line = next(r for r in report.requirements if r.name == "httpx" and r.extras)
    assert httpx_line.extras == ["http2"]
    assert httpx_line.marker == 'python_version >= "3.8"'
    assert httpx_line.satisfied is True
    assert (
        next(r for r in report.requirements if r.name == "not-installed-package-xyz").installed
        is None
    )
    ancient = next(r for r in report.requirements if r.name == "ancient")
    assert ancient.applies is False
    assert (
        next(r for r in report.requirements if r.name == "mylib").url
        == "https://example.invalid/mylib-1.0.tar.gz"
    )
    assert "httpx" in report.duplicates
    assert "httpx" in report.conflicts  # ==HTTPX and <0.1 cannot both hold
    assert report.ok is False


def test_compatible_duplicates_are_not_conflicts(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "packaging>=20\npackaging<100,!=21.0\n")
    report = analyze(path)
    assert "packaging" in report.duplicates
    assert report.conflicts == {}


def test_disjoint_ranges_conflict(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "foo>=2.0\nfoo<1.5\nbar~=1.4\nbar>=1.4.2\n")
    report = analyze(path)
    assert set(report.conflicts) == {"foo"}


def test_invalid_lines_and_a_missing_file_are_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "good==1\nthis is not valid!!\n")
    report = analyze(path)
    assert len(report.errors) == 1
    assert "requirements.txt:2" in report.errors[0]
    missing = analyze(tmp_path / "nope.txt")
    assert missing.errors == [f"{tmp_path / 'nope.txt'}: no such file"]


def test_pyproject_dependencies_extras_and_groups(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = ["httpx>=0.1"]\n'
        '[project.optional-dependencies]\nfast = ["uvicorn[standard]"]\n'
        '[dependency-groups]\ndev = ["pytest>=7", {include-group = "other"}]\nother = []\n',
    )
    report = analyze(path)
    sources = {r.name: r.source for r in report.requirements}
    assert sources == {
        "httpx": "pyproject.toml:project.dependencies",
        "uvicorn": "pyproject.toml:optional-dependencies.fast",
        "pytest": "pyproject.toml:dependency-groups.dev",
    }
    assert report.ok


def test_a_project_the_index_does_not_have_is_a_note(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "httpx\nmylib\nmylib>=1\n")
    report = analyze(
        path, outdated=True, lookup_latest=lambda name: "9.9" if name == "httpx" else None
    )
    assert [r.latest for r in report.requirements] == ["9.9", None, None]
    assert report.notes == ["not on the package index: mylib"]


def test_the_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    good = _write(tmp_path, "good.txt", f"httpx=={HTTPX}\n")
    result = runner.invoke(app, ["deps", "check", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True
    bad = _write(tmp_path, "bad.txt", "foo>=2\nfoo<1\n")
    refused = runner.invoke(app, ["deps", "check", str(bad)])
    assert refused.exit_code == 1
    assert "conflict" in refused.output


# --- --outdated through the package index's JSON API, against a local index server


class _Index(BaseHTTPRequestHandler):
    """`/pypi/<name>/json` as PyPI answers it, for the projects in `server.projects`."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _IndexServer)
        server.asked.append(self.path)
        parts = self.path.strip("/").split("/")
        if parts[:1] == ["broken"]:
            self._answer(503, b"down for maintenance")
        elif parts[:1] == ["garbled"]:
            self._answer(200, b"<html>not json</html>")
        elif len(parts) == 3 and parts[0] == "pypi" and parts[1] in server.projects:
            self._answer(200, json.dumps(server.projects[parts[1]]).encode())
        else:
            self._answer(404, b'{"message": "Not Found"}')

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


class _IndexServer(ThreadingHTTPServer):
    projects: dict[str, Any]
    asked: list[str]


def _release(yanked: bool = False) -> list[dict[str, Any]]:
    return [{"filename": "x.whl", "yanked": yanked}]


PROJECTS: dict[str, Any] = {
    "httpx": {
        "info": {"version": "99.1.0"},
        "releases": {
            "0.28.1": _release(),
            "99.1.0": _release(),
            "99.2.0": _release(yanked=True),
            "100.0.0rc1": _release(),
        },
    },
    # Only pre-releases: the newest of them.
    "early-bird": {"info": {"version": "1.0a2"}, "releases": {"1.0a1": [], "1.0a2": []}},
    # No release list: the info's version.
    "bare": {"info": {"version": "3.1"}},
}


@pytest.fixture
def index() -> Iterator[str]:
    """A package index on a free loopback port; its JSON API's base URL."""
    server = _IndexServer(("127.0.0.1", 0), _Index)
    server.projects, server.asked = PROJECTS, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pypi"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/pypi"  # nothing listens there any more


def test_outdated_asks_the_index_json_api(tmp_path: Path, index: str) -> None:
    path = _write(
        tmp_path,
        "requirements.txt",
        "httpx\nHTTPX>=0.1\nearly_bird\nbare\nnot-on-the-index\nmylib @ https://example.invalid/m.tgz\n",
    )
    report = analyze(path, outdated=True, index_url=index)
    latest = {r.name: r.latest for r in report.requirements}
    # The newest final release not yanked; only pre-releases: the newest; else info.version.
    assert latest == {
        "httpx": "99.1.0",
        "early-bird": "1.0a2",
        "bare": "3.1",
        "not-on-the-index": None,
        "mylib": None,
    }
    assert report.notes == ["not on the package index: not-on-the-index"]
    assert report.errors == []


def test_the_index_url_comes_from_the_environment(
    tmp_path: Path, index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INDEX_URL_ENV, index)
    path = _write(tmp_path, "requirements.txt", "bare\n")
    assert analyze(path, outdated=True).requirements[0].latest == "3.1"


@pytest.mark.parametrize(
    ("base", "reason"),
    [
        ("closed", "could not be reached"),
        ("broken", "answered 503 for httpx"),
        ("garbled", "not its JSON API"),
    ],
)
def test_an_index_that_cannot_answer_is_one_error(
    tmp_path: Path, index: str, base: str, reason: str
) -> None:
    url = _closed_port_url() if base == "closed" else index.replace("/pypi", f"/{base}")
    path = _write(tmp_path, "requirements.txt", f"httpx=={HTTPX}\npydantic\n")
    report = analyze(path, outdated=True, index_url=url)
    assert len(report.errors) == 1
    assert f"the package index at {url}" in report.errors[0]
    assert reason in report.errors[0]
    assert report.errors[0].endswith("the latest versions were not checked")
    assert report.requirements[0].satisfied is True  # the rest of the report stands
    assert not report.ok


def test_outdated_in_the_cli_without_pip(tmp_path: Path, index: str) -> None:
    """`gatehouse deps check --outdated` as a process, as `make install` builds it (no pip
    in the virtualenv, none on an empty PATH, and PIP_NO_INDEX would stop one anyway): the
    versions come from the index's JSON API."""
    path = _write(tmp_path, "requirements.txt", f"httpx=={HTTPX}\n")
    env = {**os.environ, "GATEHOUSE_INDEX_URL": index, "PIP_NO_INDEX": "1", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse", "deps", "check", str(path), "--outdated", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["requirements"][0]["latest"] == "99.1.0"


def test_offline_the_cli_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", f"httpx=={HTTPX}\n")
    url = _closed_port_url()
    result = CliRunner().invoke(app, ["deps", "check", str(path), "--outdated", "--index-url", url])
    assert result.exit_code == 1
    assert f"the package index at {url} could not be reached" in result.output
    assert "the latest versions were not checked" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_password_in_the_index_url_is_never_shown(tmp_path: Path) -> None:
    url = _closed_port_url().replace("http://", "http://reader:s3cret-token@")
    path = _write(tmp_path, "requirements.txt", "httpx\n")
    report = analyze(path, outdated=True, index_url=url)
    assert "s3cret-token" not in report.errors[0]
    assert "http://reader:***@127.0.0.1" in report.errors[0]
