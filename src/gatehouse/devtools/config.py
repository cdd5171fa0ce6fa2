"""Loading configuration files: JSON, YAML, INI and TOML, with clear errors; and the
service's effective settings with their secrets masked."""

from __future__ import annotations

import configparser
import errno
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import SecretStr

from gatehouse.core.config import Settings

Format = Literal["json", "yaml", "ini", "toml"]
EXTENSIONS: dict[str, Format] = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".ini": "ini",
    ".cfg": "ini",
    ".conf": "ini",
    ".toml": "toml",
}


MASK = "********"
URL_MASK = "***"
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")


def mask_url_password(url: str) -> str:
    """`url` with the password of its user info and of a `password=` query parameter
    replaced by ***: `postgresql+asyncpg://app:***@db/gatehouse`.

    The user info runs to the last `@`, so a password holding an unescaped `/`, `?` or
    `#` is masked whole; when in doubt more is masked, never less.
    """
    scheme, separator, rest = url.partition("://")
    if separator:
        userinfo, at, host_onwards = rest.rpartition("@")
        if at and ":" in userinfo:
            rest = f"{userinfo.partition(':')[0]}:{URL_MASK}@{host_onwards}"
        url = f"{scheme}{separator}{rest}"
    return _QUERY_PASSWORD.sub(rf"\g<1>{URL_MASK}", url)


def effective_settings(settings: Settings) -> dict[str, Any]:
    """Every setting by name, for `gatehouse config show`: secrets as ********, and the
    password inside any URL setting (DATABASE_URL, REDIS_URL, ...) as ***."""
    shown: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = MASK
        elif name.endswith("_URL") and isinstance(value, str):
            value = mask_url_password(value)
        shown[name] = value
    return shown


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says why and where.

    Each kind is also the builtin error a caller would expect, so `except FileNotFoundError`
    or `except ValueError` catches it too."""


class ConfigFileNotFound(ConfigError, FileNotFoundError):
    """No file at the path (or a directory there): also a FileNotFoundError."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.message = message
        self.errno = errno.ENOENT
        self.filename = str(path)

    def __str__(self) -> str:  # not OSError's "[Errno 2] ...": the message says it all
        return self.message


class UnknownConfigFormat(ConfigError, ValueError):
    """The format is not one the loader reads: also a ValueError."""


class ConfigParseError(ConfigError, ValueError):
    """The file is not valid in its format: also a ValueError."""

    def __init__(self, path: Path, fmt: str, reason: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: not valid {fmt.upper()}: {reason}")
        self.path, self.format, self.line = path, fmt, line


def detect_format(path: Path) -> Format:
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(EXTENSIONS))
        raise UnknownConfigFormat(
            f"{path}: cannot tell the format from {path.suffix or 'no extension'!r}; "
            f"use one of {known} or pass the format"
        ) from None


def _parse(text: str, fmt: Format, path: Path) -> dict[str, Any]:
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigParseError(path, fmt, exc.msg, exc.lineno) from exc
    elif fmt == "yaml":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = str(getattr(exc, "problem", None) or exc)
            raise ConfigParseError(path, fmt, reason, line) from exc
        except ValueError as exc:  # well-formed, but no such value: `day: 2001-13-45`
            raise ConfigParseError(path, fmt, str(exc)) from exc
        data = {} if data is None else data
    elif fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # Python 3.11 puts the position only in the message: "... (at line 2, column 14)".
            position = re.search(r"\(at line (\d+), column \d+\)", str(exc))
            line = int(position.group(1)) if position else getattr(exc, "lineno", None)
            reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            raise ConfigParseError(path, fmt, reason, line) from exc
    else:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text, source=str(path))
        except configparser.MissingSectionHeaderError as exc:  # a ParsingError without .errors
            reason = f"{exc.line.strip()!r} comes before any [section]"
            raise ConfigParseError(path, fmt, reason, exc.lineno) from exc
        except configparser.ParsingError as exc:
            line, bad = exc.errors[0] if exc.errors else (None, "")
            raise ConfigParseError(path, fmt, f"cannot read {bad.strip()!r}", line) from exc
        except configparser.Error as exc:
            line = getattr(exc, "lineno", None)
            raise ConfigParseError(path, fmt, str(exc).splitlines()[0], line) from exc
        data = {section: dict(parser[section]) for section in parser.sections()}
        if parser.defaults():
            data["DEFAULT"] = dict(parser.defaults())
    if not isinstance(data, dict):
        raise ConfigParseError(
            path, fmt, f"the top level is a {type(data).__name__}, not a mapping"
        )
    return data


def load_config(path: str | Path, format: Format | None = None) -> dict[str, Any]:
    """The file's contents as a dict; the format comes from the extension unless given."""
    file = Path(path)
    fmt = format or detect_format(file)
    if fmt not in ("json", "yaml", "ini", "toml"):
        raise UnknownConfigFormat(f"unknown format {fmt!r}; use json, yaml, ini or toml")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileNotFound(f"{file}: no such file", path=file) from None
    except IsADirectoryError:
        raise ConfigFileNotFound(f"{file}: is a directory, not a file", path=file) from None
    except UnicodeDecodeError as exc:
        raise ConfigParseError(file, fmt, "not UTF-8 text") from exc
    return _parse(text, fmt, file)
