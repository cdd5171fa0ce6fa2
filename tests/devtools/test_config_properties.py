"""Hypothesis properties of the config loader (devtools/config.py): any file gives a dict
or a ConfigError, never another exception, and what a format can write comes back."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.devtools.config import ConfigError, ConfigParseError, load_config

FORMATS = ["json", "yaml", "ini", "toml"]
KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20),  # YAML folds C1 breaks,
)
TREES = st.recursive(
    SCALARS, lambda children: st.dictionaries(KEYS, children, max_size=4), max_leaves=12
)
DOCUMENTS = st.dictionaries(KEYS, TREES, max_size=5)


@contextmanager
def written(content: str | bytes, suffix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"config.{suffix}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        yield path


@pytest.mark.parametrize("fmt", FORMATS)
@given(content=st.one_of(st.text(max_size=200), st.binary(max_size=100)))
def test_any_file_is_a_mapping_or_a_config_error(fmt: str, content: str | bytes) -> None:
    with written(content, fmt) as path:
        try:
            data = load_config(path)
        except ConfigError:
            return
    assert isinstance(data, dict)


@pytest.mark.parametrize("text", ["when: 2001-13-45", "when: 2001-02-30 10:00:00", "- 1", "[1, 2"])
def test_yaml_that_names_no_real_value_is_a_parse_error(text: str) -> None:
    """`2001-13-45` looks like a date to YAML, and raised ValueError (found while writing
    these properties)."""
    with written(text, "yaml") as path, pytest.raises(ConfigParseError):
        load_config(path)


def test_ini_text_before_any_section_is_a_parse_error_with_its_line() -> None:
    """configparser's MissingSectionHeaderError has no `.errors`: reading it raised
    AttributeError (found by the property above)."""
    with (
        written("\nname = value\n[main]\n", "ini") as path,
        pytest.raises(ConfigParseError) as error,
    ):
        load_config(path)
    assert error.value.line == 2
    assert "before any [section]" in str(error.value)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"


@given(DOCUMENTS)
def test_json_yaml_and_toml_round_trip(document: dict[str, Any]) -> None:
    texts = {
        "json": json.dumps(document),
        "yaml": yaml.safe_dump(document, allow_unicode=True),
        "toml": "\n".join(f"{key} = {_toml_value(value)}" for key, value in document.items()),
    }
    for fmt, text in texts.items():
        with written(text, fmt) as path:
            assert load_config(path) == document, fmt


@given(
    st.dictionaries(
        KEYS.filter(lambda name: name != "default"),
        st.dictionaries(
            KEYS,
            st.from_regex(
                r"[A-Za-z0-9./:@_-]([A-Za-z0-9 ./:@_-]*[A-Za-z0-9./:@_-])?", fullmatch=True
            ),
            max_size=4,
        ),
        max_size=4,
    )
)
def test_ini_sections_round_trip(sections: dict[str, dict[str, str]]) -> None:
    text = "".join(
        f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
        for name, values in sections.items()
    )
    with written(text, "ini") as path:
        assert load_config(path) == sections
