"""Hypothesis properties of pagination and sort parsing: the page arithmetic, the LIKE
pattern of a search (`q`), and which `sort` keys are accepted."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from gatehouse.core.pagination import MAX_PAGE_SIZE, Page, PageParams, PageResult, contains_pattern
from gatehouse.tasks.schemas import TaskSort
from gatehouse.tasks.service import _TASK_ORDER

PAGES = st.integers(min_value=1, max_value=10**6)
SIZES = st.integers(min_value=1, max_value=MAX_PAGE_SIZE)
TOTALS = st.integers(min_value=0, max_value=10**9)
# Lower-case ASCII (SQLite's LIKE folds only ASCII case; the services lower both sides),
# with the characters LIKE treats specially.
SEARCH = st.text(alphabet="ab%_\\ 0", max_size=12)


@given(PAGES, SIZES, TOTALS)
def test_pages_cover_the_total_and_offsets_stay_inside_them(
    page: int, size: int, total: int
) -> None:
    params = PageParams(page=page, page_size=size)
    shape = Page[int].of(PageResult(items=[], total=total, params=params), [])
    assert shape.pages == math.ceil(total / size)
    assert (shape.pages - 1) * size < total <= shape.pages * size or total == 0
    assert params.offset == (page - 1) * size >= 0
    assert (params.offset < total) == (page <= shape.pages)


@pytest.fixture(scope="module")
def sqlite() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    yield connection
    connection.close()


@given(needle=SEARCH, haystack=SEARCH)
def test_a_search_matches_exactly_the_texts_that_contain_it(
    sqlite: sqlite3.Connection, needle: str, haystack: str
) -> None:
    (matched,) = sqlite.execute(
        "SELECT ? LIKE ? ESCAPE '\\'", (haystack, contains_pattern(needle))
    ).fetchone()
    assert bool(matched) == (needle in haystack)


SORTS = TypeAdapter(TaskSort)


def test_every_sort_key_has_an_order_that_ends_with_the_id() -> None:
    assert set(get_args(TaskSort)) == set(_TASK_ORDER)
    for order in _TASK_ORDER.values():  # a total order: pages never overlap or skip
        assert order[-1].compile().string.startswith("tasks.id ")


@given(st.one_of(st.text(max_size=12), st.sampled_from(get_args(TaskSort))))
def test_only_the_listed_sort_keys_parse(key: str) -> None:
    try:
        parsed = SORTS.validate_python(key)
    except ValidationError:
        assert key not in _TASK_ORDER
    else:
        assert parsed == key
        assert key in _TASK_ORDER
