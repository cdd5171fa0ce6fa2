"""What no route may receive: strings with control characters, or text that is not UTF-8.

The input guard (`core/middleware.py`) runs these checks on every request's query string
and on its body, parsed as the framework would parse it (JSON, a urlencoded form or a
multipart form, by its Content-Type), before any route sees them. A NUL byte would
otherwise reach PostgreSQL, which refuses it in text (a 500), and the other control
characters would reach the database and the logs. Tab, line feed and carriage return are
text. Each problem is one `details.fields` entry of the 422 envelope: `{loc, msg, type}`.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import AsyncGenerator, Iterator
from itertools import islice
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser

MAX_REPORTED = 20  # problems listed in one answer

# Unicode's control characters (C0, DEL, C1) but tab, line feed and carriage return, and
# lone surrogates (JSON can spell them, "\ud800", and no UTF-8 text can hold them).
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

Loc = tuple[str | int, ...]
Problem = dict[str, Any]
_Kind = tuple[str, str]  # type, msg

CONTROL: _Kind = (
    "control_character",
    "Control characters are not allowed (except tab, line feed and carriage return)",
)
NOT_UTF8: _Kind = ("string_unicode", "Input should be valid UTF-8 text")
NOT_ENCODED: _Kind = ("string_unicode", "Non-ASCII characters must be percent-encoded")
JSON_INVALID: _Kind = ("json_invalid", "JSON decode error")
FORM_INVALID: _Kind = ("multipart_invalid", "The multipart form could not be parsed")


def _problem(loc: Loc, kind: _Kind) -> Problem:
    # A name in the location is the client's: shown with the refused characters replaced,
    # so the answer (and any log of it) never carries them.
    shown = [_REFUSED.sub("\ufffd", part) if isinstance(part, str) else part for part in loc]
    return {"loc": shown, "msg": kind[1], "type": kind[0]}


def string_problem(text: str) -> _Kind | None:
    """What is wrong with this string, if anything."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    return NOT_UTF8 if "\ud800" <= found.group() <= "\udfff" else CONTROL


def _decode_component(raw: bytes) -> tuple[str, bool]:
    """A urlencoded name or value, and whether its bytes were UTF-8."""
    data = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), False


def urlencoded_problems(raw: bytes, where: str) -> Iterator[Problem]:
    """A query string (`where` = "query") or a urlencoded form body ("body")."""
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        if not pair.isascii():
            # Browsers percent-encode; the framework reads raw bytes as latin-1, which
            # would turn UTF-8 into other characters (C1 controls among them).
            yield _problem((where, _decode_component(raw_name)[0]), NOT_ENCODED)
            continue
        name, name_is_utf8 = _decode_component(raw_name)
        value, value_is_utf8 = _decode_component(raw_value)
        if not (name_is_utf8 and value_is_utf8):
            yield _problem((where, name), NOT_UTF8)
            continue
        kind = string_problem(name) or string_problem(value)
        if kind is not None:
            yield _problem((where, name), kind)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_problems(body: bytes) -> Iterator[Problem]:
    """A JSON body: UTF-8, valid JSON (no NaN or Infinity), and every string in it (keys
    too) free of control characters."""
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        yield _problem(("body",), NOT_UTF8)
        return
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        yield _problem(("body", exc.pos), JSON_INVALID)
        return
    except (ValueError, RecursionError):  # NaN, too many digits, nested too deep
        yield _problem(("body",), JSON_INVALID)
        return
    pending: deque[tuple[Loc, Any]] = deque([(("body",), document)])
    while pending:  # breadth first, without recursion: the nesting is the client's
        loc, value = pending.popleft()
        if isinstance(value, str):
            kind = string_problem(value)
            if kind is not None:
                yield _problem(loc, kind)
        elif isinstance(value, dict):
            for key, item in value.items():
                kind = string_problem(key)
                if kind is not None:
                    yield _problem((*loc, key), kind)
                pending.append(((*loc, key), item))
        elif isinstance(value, list):
            pending.extend(((*loc, index), item) for index, item in enumerate(value))


async def multipart_problems(headers: Headers, body: bytes) -> list[Problem]:
    """A multipart form body, read by the parser (and the limits) the routes use."""

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(headers, stream()).parse()
    except (MultiPartException, ValueError):
        return [_problem(("body",), FORM_INVALID)]
    problems: list[Problem] = []
    try:
        for name, value in form.multi_items():
            text = value if isinstance(value, str) else value.filename or ""
            kind = string_problem(name) or string_problem(text)
            if kind is not None:
                problems.append(_problem(("body", name), kind))
    finally:
        await form.close()
    return problems


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def input_problems(query_string: bytes, headers: Headers, body: bytes) -> list[Problem]:
    """Everything wrong with a request's query string and body (at most MAX_REPORTED).

    The body is read as the routes read it: JSON when its Content-Type is JSON or absent
    (as FastAPI does), a form when it is one; any other body reaches no string field."""
    problems = list(islice(urlencoded_problems(query_string, "query"), MAX_REPORTED))
    if not body:
        return problems
    media = _media_type(headers)
    is_json = media in ("", "application/json") or (
        media.startswith("application/") and media.endswith("+json")
    )
    found: Iterator[Problem]
    if is_json:
        found = json_problems(body)
    elif media == "application/x-www-form-urlencoded":
        found = urlencoded_problems(body, "body")
    elif media == "multipart/form-data":
        found = iter(await multipart_problems(headers, body))
    else:
        return problems
    problems.extend(islice(found, MAX_REPORTED - len(problems)))
    return problems
