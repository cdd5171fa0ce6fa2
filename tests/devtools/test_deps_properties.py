"""Hypothesis properties of the requirement parser (devtools/deps.py): any file is a
report, with what it cannot read in `errors`, never an exception; requirements it can read
come back with their canonical name and specifier."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from gatehouse.devtools.deps import DepsReport, analyze

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,15}[A-Za-z0-9]", fullmatch=True)
VERSIONS = st.lists(st.integers(min_value=0, max_value=30), min_size=2, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)
SPECIFIERS = st.lists(
    st.tuples(st.sampled_from(["==", ">=", "<=", ">", "<", "~=", "!="]), VERSIONS).map("".join),
    max_size=2,
).map(",".join)
LINES = st.sampled_from(
    ["-r other.txt", "-c requirements.txt", "--hash=sha256:00", "# note", "-e .", "x; extra == 'a'",
     "y @ https://example.com/y.whl", "z[extra]>=1", "[project]", "dependencies = [1]",
     "project = 1", "dependencies = 'x'", "[project.optional-dependencies]", "a = 'b'",
     "[dependency-groups]", "dev = [{include-group = 'x'}, 'pytest']", "\\", "==1", "a b c"]
)  # fmt: skip
FILES = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=100),
    st.lists(st.one_of(LINES, st.text(max_size=20)), max_size=8).map("\n".join),
)


@contextmanager
def written(name: str, content: str | bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        yield path


@pytest.mark.parametrize("name", ["requirements.txt", "pyproject.toml"])
@given(content=FILES)
def test_any_file_is_a_report_never_an_exception(name: str, content: str | bytes) -> None:
    with written(name, content) as path:
        report = analyze(path)
    assert isinstance(report, DepsReport)
    assert all(isinstance(error, str) for error in report.errors)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("requirements.txt", b"requests\xff\n"),
        ("pyproject.toml", b"project = 1\n"),
        ("pyproject.toml", b"[project]\ndependencies = [1]\n"),
        ("pyproject.toml", b"[project]\ndependencies = 'httpx'\n"),
        ("pyproject.toml", b"[project.optional-dependencies]\ncli = 'typer'\n"),
        ("pyproject.toml", b"dependency-groups = []\n"),
    ],
)
def test_a_file_it_cannot_read_is_an_error_in_the_report(name: str, content: bytes) -> None:
    """Each raised before (UnicodeDecodeError, AttributeError, TypeError, or read a string
    as a list of one-letter requirements); the property above finds them."""
    with written(name, content) as path:
        report = analyze(path)
    assert report.requirements == []
    assert len(report.errors) == 1
    assert report.errors[0].startswith(str(path))


@given(st.dictionaries(NAMES, SPECIFIERS, min_size=1, max_size=5))
def test_requirements_round_trip(requirements: dict[str, str]) -> None:
    by_name = {str(canonicalize_name(name)): spec for name, spec in requirements.items()}
    if len(by_name) < len(requirements):
        return  # two spellings of one name: a duplicate, not this property
    text = "\n".join(f"{name}{spec}" for name, spec in requirements.items())
    for file, content in [
        ("requirements.txt", text),
        ("pyproject.toml", "[project]\ndependencies = [\n"
         + "".join(f"  {line!r},\n" for line in text.splitlines()) + "]\n"),
    ]:  # fmt: skip
        with written(file, content) as path:
            report = analyze(path)
        assert report.errors == []
        assert {item.name: SpecifierSet(item.specifier) for item in report.requirements} == {
            name: SpecifierSet(spec) for name, spec in by_name.items()
        }
