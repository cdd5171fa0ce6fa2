"""Reading task requests: pure functions of a message's text (and, for dates, of today).

`parse_actions` splits a message into actions ("add milk and eggs, then show my list");
`extract_details` reads a new task's title, priority ("high priority", "urgent") and due date
("tomorrow", "next friday", "in 3 days", "2026-12-01"); `parse_date` reads a date phrase;
`parse_reference` recognises "it", "them" or "the second one". Nothing here knows the
conversation or calls a tool: the built-in assistant (chat/providers/builtin.py) does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "ten": 10, "fourteen": 14}  # fmt: skip
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2,
            "3rd": 3, "4th": 4, "5th": 5}  # fmt: skip

_REFERENCE = re.compile(
    r"^(?:it|that|this|that one|this one|that task|this task|the task|the last one|"
    r"the one i just added|them|those|these|both|all of them|both of them|them all)$"
)
_PLURAL_REFERENCE = re.compile(r"^(?:them|those|these|both|all of them|both of them|them all)$")
_ORDINAL = re.compile(
    r"^(?:the\s+)?(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|last)(?:\s+(?:one|task))?$|^(?:number|#|no\.?)\s*(\d+)$"
)

_LIST = re.compile(
    r"^(?:(?:please\s+)?(?:show|list|display|see|view|get|give|tell)(?:\s+me)?\b.*"
    r"|what(?:'s|s| is| are| do| else| have)?\b.*\b(?:tasks?|list|todos?|to-?do|to do|left|pending|done|completed|finished|on my plate|have to do|need to do)\b.*"
    r"|(?:my\s+)?(?:tasks|todos|to-?do list|list)\??"
    r"|(?:pending|completed|open|done|finished)\s+tasks\??"
    r"|anything (?:left|pending|to do)\b.*"
    r"|do i have (?:any(?:thing)?|tasks|things)\b.*)$"
)
_HELP = re.compile(
    r"^(?:help|\?|what can you do|how does this work|commands|how do i use this)\b.*$"
)
_GREETING = re.compile(r"^(?:hi|hello|hey|good (?:morning|afternoon|evening)|yo|hiya)\b")
_THANKS = re.compile(r"^(?:thanks|thank you|thx|cheers|great|perfect|awesome|ok|okay|cool)\b")

_ADD = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+)?"
    r"(?:add|create|new task:?|make (?:a )?(?:new )?task(?: to)?|remind me to|remember to|"
    r"i need to|i have to|i must|i should|don't let me forget to|dont let me forget to|todo:?|to-?do:?|put)\s+(.+)$"
)
_COMPLETE = [
    re.compile(
        r"^(?:please\s+)?(?:mark|set|flag)\s+(.+?)\s+(?:as\s+)?(?:done|complete|completed|finished)$"
    ),
    re.compile(
        r"^(?:please\s+)?(?:complete|finish|finished|check off|tick off|cross off|i finished|i completed|i did|i've done|ive done|done with|i'm done with|im done with)\s+(.+)$"
    ),
    re.compile(r"^(.+?)\s+(?:is|are)\s+(?:done|finished|complete|completed)$"),
]
_REOPEN = [
    re.compile(
        r"^(?:please\s+)?(?:mark|set)\s+(.+?)\s+(?:as\s+)?(?:not done|undone|incomplete|pending|open|not finished)$"
    ),
    re.compile(r"^(?:please\s+)?(?:reopen|uncheck|undo)\s+(.+)$"),
]
_PRIORITY_CHANGE = [
    re.compile(
        r"^(?:please\s+)?(?:set|change|update)\s+(?:the\s+)?priority\s+(?:of|for|on)\s+(.+?)\s+to\s+(high|medium|low|urgent)$"
    ),
    re.compile(
        r"^(?:please\s+)?(?:set|make|mark|change)\s+(.+?)(?:'s)?\s+(?:priority\s+)?(?:to\s+|as\s+)?(?:a\s+)?(high|medium|low|urgent)(?:[ -]priority)?$"
    ),
    re.compile(r"^(?:please\s+)?(?:prioriti[sz]e)\s+(.+)$"),
]
_DUE_CHANGE = [
    re.compile(
        r"^(?:please\s+)?(?:set|change)\s+(?:the\s+)?due date\s+(?:of|for|on)\s+(.+?)\s+to\s+(.+)$"
    ),
    re.compile(
        r"^(?:please\s+)?(?:move|reschedule|postpone|push|delay)\s+(.+?)\s+(?:to|until|till)\s+(.+)$"
    ),
    re.compile(r"^(.+?)\s+(?:is|should be)\s+due\s+(.+)$"),
]
_RENAME = [
    re.compile(
        r"^(?:please\s+)?(?:rename|change|update|edit|retitle)\s+(.+?)\s+(?:to|into|as)\s+(.+)$"
    ),
    # "call X Y instead": X is the first word, Y the rest. Two lazy `.+?` here (as it was)
    # took quadratic time on a long "call a a a …" that never ends in "instead".
    re.compile(r"^(?:please\s+)?call\s+(\S+)\s+(.+) instead$"),
]
_DELETE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+)?"
    r"(?:delete|remove|cancel|drop|erase|forget|get rid of|scrap|trash|discard)\s+(.+)$"
)


@dataclass
class Action:
    """One thing a message asks for: its kind, the tasks it names, and what to set."""

    kind: str
    items: list[str] = field(default_factory=list)
    value: str | None = None  # new title / priority / due phrase
    status: str = "all"


def normalise(text: str) -> str:
    """Lower case, plain quotes, single spaces."""
    text = text.strip().lower()
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text)


def parse_date(phrase: str, today: date) -> date | None:
    """A date from everyday words, or None (also for one past the calendar's end, year 9999:
    "in 3000000 days")."""
    try:
        return _parse_date(phrase, today)
    except OverflowError:
        return None


def _parse_date(phrase: str, today: date) -> date | None:
    text = phrase.strip().lower().strip(".,!?")
    text = re.sub(r"^(?:due|by|on|for|until|till|before|at|this)\s+", "", text)
    if text in ("today", "tonight", "this evening", "end of day", "eod"):
        return today
    if text in ("tomorrow", "tmrw", "tmr"):
        return today + timedelta(days=1)
    if text in ("day after tomorrow", "the day after tomorrow"):
        return today + timedelta(days=2)
    if text in ("next week", "in a week", "a week from now"):
        return today + timedelta(days=7)
    if text in ("weekend", "the weekend", "this weekend"):
        return today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        try:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    relative = re.fullmatch(r"in (\d+|[a-z]+) (day|days|week|weeks)", text)
    if relative:
        count = int(relative[1]) if relative[1].isdigit() else NUMBER_WORDS.get(relative[1])
        if count is None:
            return None
        return today + timedelta(days=count * (7 if relative[2].startswith("week") else 1))
    weekday = re.fullmatch(r"(?:next |this |coming |the )?(" + "|".join(WEEKDAYS) + r")", text)
    if weekday:
        ahead = (WEEKDAYS.index(weekday[1]) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    month_day = re.fullmatch(
        r"(?:the )?(?:(\d{1,2})(?:st|nd|rd|th)?(?: of)? ("
        + "|".join(m[:3] for m in MONTHS)
        + r")[a-z]*"
        r"|(" + "|".join(m[:3] for m in MONTHS) + r")[a-z]* (\d{1,2})(?:st|nd|rd|th)?)",
        text,
    )
    if month_day:
        day_text = month_day[1] or month_day[4]
        month_text = month_day[2] or month_day[3]
        month = [m[:3] for m in MONTHS].index(month_text[:3]) + 1
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, int(day_text))
            except ValueError:
                return None
            if candidate >= today:
                return candidate
    return None


_DATE_TAIL = re.compile(
    r"(?:,?\s+(?:due|by|on|for|until|before)?\s*)"
    r"(today|tonight|tomorrow|tmrw|(?:the )?day after tomorrow|next week|in a week|this weekend|"
    r"(?:next |this |coming )?(?:" + "|".join(WEEKDAYS) + r")|in (?:\d+|[a-z]+) (?:days?|weeks?)|"
    r"\d{4}-\d{2}-\d{2}|(?:the )?\d{1,2}(?:st|nd|rd|th)?(?: of)? [a-z]{3,9}|[a-z]{3,9} \d{1,2}(?:st|nd|rd|th)?)"
    r"(?=\s*(?:,|$|\s+(?:with|high|low|medium|urgent|important|as|priority)))"
)
_PRIORITY_WORDS = [
    (re.compile(r",?\s*(?:with\s+|at\s+|as\s+)?(?:a\s+)?(high|medium|low)[ -]priority\b"), None),
    (re.compile(r",?\s*(?:with\s+)?priority[: ]+(high|medium|low)\b"), None),
    (re.compile(r",?\s*\b(?:not urgent|no rush|whenever|someday|low-key)\b"), "low"),
    (re.compile(r",?\s*\b(?:urgent(?:ly)?|important|asap|critical)\b!*"), "high"),
]


def extract_details(text: str, today: date) -> tuple[str, str | None, date | None]:
    """(title, priority, due date) of a new task's words."""
    priority: str | None = None
    for pattern, fixed in _PRIORITY_WORDS:
        match = pattern.search(text)
        if match:
            priority = fixed or match.group(1)
            text = (text[: match.start()] + text[match.end() :]).strip()
            break
    due: date | None = None
    match = _DATE_TAIL.search(text)
    if match:
        parsed = parse_date(match.group(1), today)
        if parsed is not None:
            due = parsed
            text = (text[: match.start()] + text[match.end() :]).strip()
    return clean_title(text), priority, due


def clean_title(text: str) -> str:
    """A task title without quotes, filler ("a task to", "please") or "to my list"."""
    text = text.strip().strip(".,!?;:\"'").strip()
    text = re.sub(r"(?:,?\s+please|,?\s+thanks|,?\s+thank you)$", "", text)
    text = re.sub(
        r"^(?:a |an |the )?(?:new )?(?:task|todo|to-?do|reminder)(?: to| for| called| named|:)?\s+",
        "",
        text,
    )
    text = re.sub(r"^to\s+", "", text)
    text = re.sub(
        r"\s+(?:to|on|onto|in|into)\s+(?:my|the)\s+(?:task |to-?do |todo )?(?:list|tasks|todos?|to-?dos?)$",
        "",
        text,
    )
    return text.strip().strip(".,!?;:\"'").strip()


def _only_details(text: str) -> bool:
    """Whether `text` is just a priority or a date ("high priority", "tomorrow")."""
    title, priority, due = extract_details(", " + text, date.today())
    return not title and (priority is not None or due is not None)


def _split_items(text: str) -> list[str]:
    parts = re.split(r"\s*,\s*(?:and\s+|then\s+)?|\s+and\s+(?:then\s+)?|\s+then\s+", text)
    return [part for part in (p.strip() for p in parts) if part]


def _match_single(text: str) -> Action | None:
    """The action a short piece of text asks for, if any (object lists not split)."""
    if _HELP.match(text):
        return Action("help")
    for pattern in _REOPEN:
        if match := pattern.match(text):
            return Action("reopen", [match.group(1)])
    for pattern in _COMPLETE:
        if match := pattern.match(text):
            return Action("complete", [match.group(1)])
    for pattern in _PRIORITY_CHANGE:
        if match := pattern.match(text):
            level = match.group(2) if match.lastindex and match.lastindex >= 2 else "high"
            return Action("priority", [match.group(1)], "high" if level == "urgent" else level)
    for pattern in _DUE_CHANGE:
        if match := pattern.match(text):
            return Action("due", [match.group(1)], match.group(2))
    for pattern in _RENAME:
        if match := pattern.match(text):
            return Action("rename", [match.group(1)], match.group(2))
    if match := _DELETE.match(text):
        return Action("delete", [match.group(1)])
    if match := _ADD.match(text):
        return Action("add", [match.group(1)])
    if _LIST.match(text) and re.search(
        r"\b(?:tasks?|list|todos?|to-?do|to do|left|pending|done|completed|finished|open|plate|have to do|need to do|anything)\b",
        text,
    ):
        return Action("list", status=_list_status(text))
    return None


def _list_status(text: str) -> str:
    if re.search(
        r"\b(?:not done|not finished|pending|open|remaining|left|outstanding|incomplete|unfinished|still (?:to do|need))\b",
        text,
    ):
        return "pending"
    if re.search(r"\b(?:completed|done|finished|complete)\b", text):
        return "completed"
    return "all"


def parse_actions(message: str) -> list[Action]:
    """Every action a message asks for, in order."""
    actions: list[Action] = []
    for sentence in re.split(r"[.;!?\n]+|\s+also\s+|,\s*then\s+", normalise(message)):
        sentence = re.sub(r"^(?:and then|then|and|also|ok|okay|so)\s+", "", sentence.strip(" ,"))
        if not sentence:
            continue
        actions.extend(_parse_sentence(sentence))
    return actions


_MULTI = ("add", "complete", "delete", "reopen")


def _parse_sentence(sentence: str) -> list[Action]:
    action = _match_single(sentence)
    if action is None:
        # "add milk, and then show my list": try the pieces one by one.
        pieces = _split_items(sentence)
        if len(pieces) > 1:
            found: list[Action] = []
            for piece in pieces:
                piece_action = _match_single(piece)
                if piece_action is not None:
                    found.append(piece_action)
                elif found and found[-1].kind in _MULTI:
                    found[-1].items.append(piece)
            return found
        return []
    if action.kind not in _MULTI:
        return [action]
    # One verb, several objects ("add milk and eggs"); an object that starts with a verb of
    # its own ("add milk and show my list") is an action of its own.
    actions = [Action(action.kind)]
    for item in _split_items(action.items[0]):
        nested = _match_single(item)
        if nested is not None and not (action.kind == "add" and nested.kind == "add"):
            actions.append(nested)
        elif action.kind == "add" and actions[0].items and _only_details(item):
            actions[0].items[-1] += ", " + item  # "add x, high priority": details of x
        else:
            actions[0].items.append(item)
    return [a for a in actions if a.items or a.kind not in _MULTI]


@dataclass(frozen=True)
class Reference:
    """What a phrase like "it", "them" or "the second one" points at.

    "it": the task last acted on (else the last one listed); "them": the tasks last listed
    (else those last acted on); "last": the last task listed; "nth": the task at `position`
    (1-based; 0 when the phrase names no usable position) in the list last shown.
    """

    kind: Literal["it", "them", "last", "nth"]
    position: int = 0


def parse_reference(text: str) -> Reference | None:
    """The reference `text` (a lower-case phrase) makes, or None when it is a title."""
    text = text.strip()
    if _REFERENCE.match(text):
        return Reference("them" if _PLURAL_REFERENCE.match(text) else "it")
    if match := _ORDINAL.match(text):
        if match.group(1) == "last":
            return Reference("last")
        return Reference("nth", ORDINALS.get(match.group(1) or "", 0) or int(match.group(2) or 0))
    return None


def small_talk(message: str) -> Literal["greeting", "thanks"] | None:
    """Whether a message that asks for no action greets or thanks."""
    text = normalise(message)
    if _GREETING.match(text):
        return "greeting"
    if _THANKS.match(text):
        return "thanks"
    return None


def looks_like_id(text: str) -> bool:
    """Whether `text` is a task id (a UUID) rather than a title."""
    return bool(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text))
