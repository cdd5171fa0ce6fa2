"""Hypothesis properties of the chat's date and title parsing (chat/parsing.py): no input
makes it raise, dates round-trip, relative dates land where they say, titles come back."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.chat.parsing import (
    WEEKDAYS,
    clean_title,
    extract_details,
    parse_actions,
    parse_date,
    parse_reference,
)

# Any day a server could run on, and the calendar's edges.
TODAY = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
WORDS = st.sampled_from(
    ["in", "days", "day", "weeks", "next", "this", "the", "of", "due", "by", "tomorrow",
     "today", "weekend", "march", "1st", "2026-02-30", "0", "99999999999", "a", "two", "and",
     "add", "complete", "delete", "it", "them", "high", "priority", ",", "then"]
)  # fmt: skip
PHRASES = st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=8).map(" ".join))
FILLER = {"task", "todo", "reminder", "please", "thanks", "the", "new", "list", "tasks"}
TITLE = st.lists(
    st.from_regex(r"[b-z]{3,9}", fullmatch=True).filter(lambda word: word not in FILLER),
    min_size=1,
    max_size=4,
).map(" ".join)


@given(PHRASES, TODAY)
def test_parse_date_answers_a_date_or_none_for_any_phrase(phrase: str, today: date) -> None:
    result = parse_date(phrase, today)
    assert result is None or isinstance(result, date)


@given(st.dates(min_value=date(1000, 1, 1)), TODAY)
def test_an_iso_date_round_trips(day: date, today: date) -> None:
    assert parse_date(day.isoformat(), today) == day


@given(st.integers(min_value=0, max_value=10**12), TODAY)
def test_in_n_days_is_n_days_on_or_none_past_the_calendar(count: int, today: date) -> None:
    expected = today + timedelta(days=count) if count <= (date.max - today).days else None
    assert parse_date(f"in {count} days", today) == expected


@given(st.sampled_from(WEEKDAYS), st.dates(max_value=date(9999, 12, 20)))
def test_a_weekday_is_the_next_one_within_a_week(weekday: str, today: date) -> None:
    result = parse_date(weekday, today)
    assert result is not None
    assert 1 <= (result - today).days <= 7
    assert WEEKDAYS[result.weekday()] == weekday


@given(TITLE, st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_a_title_and_its_due_date_come_apart(title: str, today: date) -> None:
    assert clean_title(title) == title
    assert extract_details(f"{title} tomorrow", today) == (title, None, today + timedelta(1))
    assert extract_details(f"{title}, high priority", today) == (title, "high", None)


@settings(max_examples=300)
@given(PHRASES)
def test_the_parsers_never_raise_on_any_message(message: str) -> None:
    for action in parse_actions(message):
        assert action.kind
    title, priority, _ = extract_details(message, date(2026, 1, 1))
    assert title == title.strip()
    assert priority in (None, "high", "medium", "low")
    reference = parse_reference(message.lower())
    assert reference is None or reference.position >= 0
