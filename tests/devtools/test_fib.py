"""fibonacci(n): known values, big n, refusals, and hypothesis properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from gatehouse.cli import app
from gatehouse.devtools.fib import fibonacci


def _reference(count: int) -> list[int]:
    values = [0, 1]
    while len(values) < count:
        values.append(values[-1] + values[-2])
    return values


def test_the_first_hundred_and_one_values() -> None:
    assert [fibonacci(n) for n in range(101)] == _reference(101)
    assert fibonacci(100) == 354224848179261915075


def test_f1000_has_209_digits() -> None:
    value = fibonacci(1000)
    assert len(str(value)) == 209
    assert str(value).startswith("43466557686937456435")
    assert value == _reference(1001)[1000]


def test_very_large_n_needs_no_recursion() -> None:
    assert fibonacci(100_000).bit_length() == 69_424


@pytest.mark.parametrize("bad", [1.0, "3", None, True, False, 2**0.5])
def test_non_integers_are_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        fibonacci(bad)  # type: ignore[arg-type]


def test_negative_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        fibonacci(-1)


@given(st.integers(min_value=0, max_value=3000))
def test_recurrence(n: int) -> None:
    assert fibonacci(n + 2) == fibonacci(n + 1) + fibonacci(n)


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500))
def test_gcd_property(m: int, n: int) -> None:
    assert math.gcd(fibonacci(m), fibonacci(n)) == fibonacci(math.gcd(m, n))


def test_cli() -> None:
    result = CliRunner().invoke(app, ["fib", "90"])
    assert result.exit_code == 0
    assert result.output.strip() == "2880067194370816120"
    assert CliRunner().invoke(app, ["fib", "-1"]).exit_code != 0
