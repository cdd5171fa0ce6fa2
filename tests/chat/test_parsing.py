"""The parsing of task requests, without the assistant: dates against a fixed day, priority
words, titles, actions and references."""

from __future__ import annotations

import re
from datetime import date

import pytest

from gatehouse.chat import parsing
from gatehouse.chat.parsing import (
    Action,
    Reference,
    clean_title,
    extract_details,
    looks_like_id,
    parse_actions,
    parse_date,
    parse_reference,
    small_talk,
)

TODAY = date(2026, 3, 4)  # a Wednesday


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("today", date(2026, 3, 4)),
        ("tonight", date(2026, 3, 4)),
        ("tomorrow", date(2026, 3, 5)),
        ("Tomorrow.", date(2026, 3, 5)),
        ("due tomorrow", date(2026, 3, 5)),
        ("the day after tomorrow", date(2026, 3, 6)),
        ("next week", date(2026, 3, 11)),
        ("in 3 days", date(2026, 3, 7)),
        ("in two weeks", date(2026, 3, 18)),
        ("friday", date(2026, 3, 6)),
        ("next friday", date(2026, 3, 6)),
        ("wednesday", date(2026, 3, 11)),  # today's weekday means a week ahead
        ("this weekend", date(2026, 3, 7)),
        ("2026-12-01", date(2026, 12, 1)),
        ("dec 25th", date(2026, 12, 25)),
        ("the 3rd of march", date(2027, 3, 3)),  # already past this year: next year's
        ("1 feb", date(2027, 2, 1)),
    ],
)
def test_date_phrases_count_from_today(phrase: str, expected: date) -> None:
    assert parse_date(phrase, TODAY) == expected


@pytest.mark.parametrize("phrase", ["someday", "in zillion days", "2026-02-30", "31 feb", ""])
def test_phrases_that_are_no_date_give_none(phrase: str) -> None:
    assert parse_date(phrase, TODAY) is None


@pytest.mark.parametrize(
    ("text", "title", "priority"),
    [
        ("fix the leak, high priority", "fix the leak", "high"),
        ("fix the leak with high priority", "fix the leak", "high"),
        ("water plants low priority", "water plants", "low"),
        ("pay rent priority: low", "pay rent", "low"),
        ("call the bank asap", "call the bank", "high"),
        ("read a book, not urgent", "read a book", "low"),
        ("plan trip", "plan trip", None),
    ],
)
def test_priority_words(text: str, title: str, priority: str | None) -> None:
    assert extract_details(text, TODAY) == (title, priority, None)


def test_details_take_a_priority_and_a_due_date_off_the_title() -> None:
    assert extract_details("call the bank urgently tomorrow", TODAY) == (
        "call the bank",
        "high",
        date(2026, 3, 5),
    )
    assert extract_details("send the invoice tomorrow, high priority", TODAY) == (
        "send the invoice",
        "high",
        date(2026, 3, 5),
    )
    assert extract_details("file taxes on 2030-04-15", TODAY) == (
        "file taxes",
        None,
        date(2030, 4, 15),
    )


def test_a_quoted_title_loses_its_quotes() -> None:
    assert clean_title('"buy milk"') == "buy milk"
    assert clean_title("'Buy Milk'.") == "Buy Milk"
    assert extract_details('"buy milk" tomorrow', TODAY) == ("buy milk", None, date(2026, 3, 5))


def test_typographic_quotes_in_a_message_make_a_plain_title() -> None:
    [action] = parse_actions("Add “Buy Milk” tomorrow, urgent")
    assert action.kind == "add"
    assert extract_details(action.items[0], TODAY) == ("buy milk", "high", date(2026, 3, 5))


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("a task to water the plants please", "water the plants"),
        ("book dentist to my list", "book dentist"),
        ("new task: fix the bike", "fix the bike"),
    ],
)
def test_titles_lose_filler_words(text: str, title: str) -> None:
    assert clean_title(text) == title


@pytest.mark.parametrize(
    ("message", "actions"),
    [
        (
            "add milk and eggs, then show my list",
            [Action("add", ["milk", "eggs"]), Action("list")],
        ),
        ("mark buy milk and call mum as done", [Action("complete", ["buy milk", "call mum"])]),
        ("add fix the leak, high priority", [Action("add", ["fix the leak, high priority"])]),
        ("make it high priority", [Action("priority", ["it"], "high")]),
        ("move it to monday", [Action("due", ["it"], "monday")]),
        ("rename buy milk to buy oat milk", [Action("rename", ["buy milk"], "buy oat milk")]),
        ("show completed tasks", [Action("list", status="completed")]),
        ("what is left?", [Action("list", status="pending")]),
        ("help", [Action("help")]),
        ("hello", []),
        ("what's the weather like?", []),
    ],
)
def test_messages_become_actions(message: str, actions: list[Action]) -> None:
    assert parse_actions(message) == actions


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("it", Reference("it")),
        ("the last one", Reference("it")),
        ("them", Reference("them")),
        ("both", Reference("them")),
        ("the second one", Reference("nth", 2)),
        ("#3", Reference("nth", 3)),
        ("no. 12", Reference("nth", 12)),
        ("last", Reference("last")),
        ("the last task", Reference("last")),
        ("buy milk", None),
    ],
)
def test_references(text: str, reference: Reference | None) -> None:
    assert parse_reference(text) == reference


def test_small_talk() -> None:
    assert small_talk("Hello!") == "greeting"
    assert small_talk("  Thanks a lot") == "thanks"
    assert small_talk("what's the weather like?") is None


def test_ids_are_told_from_titles() -> None:
    assert looks_like_id("12345678-1234-1234-1234-123456789abc")
    assert not looks_like_id("buy milk")


# The "call X Y instead" pattern before it was made linear: the new one reads the same.
QUADRATIC_CALL_INSTEAD = re.compile(r"^(?:please\s+)?call\s+(.+?)\s+(.+?) instead$")


@pytest.mark.parametrize(
    "text",
    [
        "call milk oat milk instead",
        "please call milk oat milk instead",
        "call milk instead",
        "call a b instead instead",
        "call a b c",
        "call  spaced   words instead",
        "call x y instead of z",
    ],
)
def test_call_x_y_instead_reads_as_it_did(text: str) -> None:
    before = QUADRATIC_CALL_INSTEAD.match(text)
    after = parsing._RENAME[1].match(text)
    assert (after.groups() if after else None) == (before.groups() if before else None)


def test_call_x_y_instead_renames() -> None:
    assert parse_actions("Call milk oat milk instead") == [Action("rename", ["milk"], "oat milk")]


# A watchdog, not a measurement: these take milliseconds; the quadratic pattern needed
# about a second for 10,000 characters and minutes for the 100,000 here. Timings beside
# the old pattern: bench/chat_parse.py.
@pytest.mark.timeout(30)
def test_long_adversarial_messages_parse_in_linear_time() -> None:
    words = 50_000
    assert parse_actions("call " + "a " * words) == []
    (rename,) = parse_actions("call a " + "b " * words + "instead")
    assert rename.kind == "rename"
    assert rename.items == ["a"]
    assert rename.value == " ".join(["b"] * words)
    (add,) = parse_actions("add a" + " and b" * (words // 3))
    assert add.kind == "add"
    assert len(add.items) == words // 3 + 1
