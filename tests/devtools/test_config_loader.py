"""load_config: each format, and a clear error for each way a file can be wrong."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatehouse.cli import app
from gatehouse.devtools.config import (
    ConfigFileNotFound,
    ConfigParseError,
    UnknownConfigFormat,
    load_config,
    mask_url_password,
)

EXPECTED = {"server": {"host": "127.0.0.1", "port": 8000}}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("app.json", '{"server": {"host": "127.0.0.1", "port": 8000}}'),
        ("app.yaml", "server:\n  host: 127.0.0.1\n  port: 8000\n"),
        ("app.yml", "server: {host: 127.0.0.1, port: 8000}\n"),
        ("app.toml", '[server]\nhost = "127.0.0.1"\nport = 8000\n'),
    ],
)
def test_each_format_by_extension(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert load_config(path) == EXPECTED


def test_ini_sections_become_mappings_of_strings(tmp_path: Path) -> None:
    path = tmp_path / "app.ini"
    path.write_text("[DEFAULT]\nlevel = info\n\n[server]\nhost = 127.0.0.1\nport = 8000\n")
    assert load_config(path) == {
        "server": {"host": "127.0.0.1", "port": "8000", "level": "info"},
        "DEFAULT": {"level": "info"},
    }


def test_the_format_can_be_given(tmp_path: Path) -> None:
    path = tmp_path / "settings.conf.txt"
    path.write_text('{"a": 1}')
    assert load_config(path, format="json") == {"a": 1}


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileNotFound, match="no such file"):
        load_config(tmp_path / "nope.json")


def test_an_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "app.xml"
    path.write_text("<a/>")
    with pytest.raises(UnknownConfigFormat, match=r"\.xml"):
        load_config(path)
    with pytest.raises(UnknownConfigFormat):
        load_config(path, format="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("bad.json", '{\n  "a": 1,\n  "b": \n}', 4),
        ("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n", 3),
        ("bad.toml", 'a = 1\nb = "unclosed\n', 2),
        ("bad.ini", "[s]\na = 1\nnot a key value line\n", 3),
    ],
)
def test_parse_errors_name_the_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigParseError) as caught:
        load_config(path)
    assert caught.value.line == line
    assert f"{path}:{line}" in str(caught.value)


def test_a_top_level_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigParseError, match="not a mapping"):
        load_config(path)


def test_config_show_a_file_and_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.toml"
    path.write_text("[server]\nport = 8000\n")
    runner = CliRunner()
    shown = runner.invoke(app, ["config", "show", str(path)])
    assert shown.exit_code == 0
    assert json.loads(shown.output) == {"server": {"port": 8000}}
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    refused = runner.invoke(app, ["config", "show", str(broken)])
    assert refused.exit_code == 1
    assert "not valid JSON" in refused.output

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECRET_KEY", "a-very-secret-value-that-must-not-show")
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-secret")
    settings = runner.invoke(app, ["config", "show"])
    assert settings.exit_code == 0
    assert "a-very-secret-value" not in settings.output
    assert "smtp-secret" not in settings.output
    assert json.loads(settings.output)["SECRET_KEY"] == "********"


def test_config_show_masks_the_passwords_inside_the_database_and_redis_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://gatehouse:db-pass-4821@db.internal/gh")
    monkeypatch.setenv("REDIS_URL", "redis://:redis-pass-9313@cache.internal:6379/0")
    shown = CliRunner().invoke(app, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert "db-pass-4821" not in shown.output
    assert "redis-pass-9313" not in shown.output
    settings = json.loads(shown.output)
    assert settings["DATABASE_URL"] == "postgresql+asyncpg://gatehouse:***@db.internal/gh"
    assert settings["REDIS_URL"] == "redis://:***@cache.internal:6379/0"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+asyncpg://app:s3cret@db:5432/gh", "postgresql+asyncpg://app:***@db:5432/gh"),
        ("postgresql+asyncpg://app:p@ss/w?rd#x@db/gh", "postgresql+asyncpg://app:***@db/gh"),
        (
            "postgresql+asyncpg://app@db/gh?password=s3cret&ssl=1",
            "postgresql+asyncpg://app@db/gh?password=***&ssl=1",
        ),
        ("rediss://user:s3cret@cache:6380/0", "rediss://user:***@cache:6380/0"),
        ("unix:///run/redis.sock?db=0&Password=s3cret", "unix:///run/redis.sock?db=0&Password=***"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("redis://user@cache:6379/0", "redis://user@cache:6379/0"),
        ("sqlite+aiosqlite:///./gatehouse.db", "sqlite+aiosqlite:///./gatehouse.db"),
    ],
)
def test_url_passwords_are_masked_and_nothing_else_changes(url: str, shown: str) -> None:
    assert mask_url_password(url) == shown


def test_each_error_is_also_the_builtin_a_caller_expects(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError) as not_found:
        load_config(missing)
    assert isinstance(not_found.value, ConfigFileNotFound)
    assert (not_found.value.errno, not_found.value.filename) == (errno.ENOENT, str(missing))
    assert str(not_found.value) == f"{missing}: no such file"
    with pytest.raises(FileNotFoundError, match="is a directory"):
        load_config(tmp_path, format="json")
    xml = tmp_path / "app.xml"
    xml.write_text("<a/>")
    with pytest.raises(ValueError, match=r"\.xml") as unknown:
        load_config(xml)
    assert isinstance(unknown.value, UnknownConfigFormat)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON") as parse:
        load_config(bad)
    assert isinstance(parse.value, ConfigParseError)
