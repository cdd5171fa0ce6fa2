"""The built-in assistant: no model, no network; everyday phrasings of the five task actions.

It reads a message with gatehouse.chat.parsing (actions, titles, due dates, priorities),
resolves "it", "them" or "the second one" from the conversation's earlier tool results, and
calls the task tools. A title that matches no task, or several, gets a question back.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread

from gatehouse.chat.parsing import (
    Action,
    clean_title,
    extract_details,
    looks_like_id,
    parse_actions,
    parse_date,
    parse_reference,
    small_talk,
)
from gatehouse.chat.providers.base import HistoryItem, Turn

HELP = (
    "I can manage your tasks. Try:\n"
    "- “add buy milk tomorrow” or “remind me to call mum next friday, high priority”\n"
    "- “what's on my list?”, “show pending tasks”, “show completed tasks”\n"
    "- “mark buy milk as done” (or “finish it”)\n"
    "- “rename buy milk to buy oat milk”, “make it high priority”, “move it to monday”\n"
    "- “delete buy milk”\n"
    "Several at once work too: “add milk and eggs, then show my list”."
)


def _remembered_tasks(
    history: list[HistoryItem], calls: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """(the tasks last acted on, the tasks last listed), as ids, newest information first."""
    acted: list[str] = []
    listed: list[str] = []
    sequences = [item.tool_calls for item in history if item.tool_calls] + (
        [calls] if calls else []
    )
    for call_list in reversed(sequences):
        for call in reversed(call_list):
            result = call.get("result") or {}
            if not acted and result.get("status") == "ok" and isinstance(result.get("task"), dict):
                acted = [
                    c["result"]["task"]["id"]
                    for c in call_list
                    if (c.get("result") or {}).get("status") == "ok"
                    and isinstance((c.get("result") or {}).get("task"), dict)
                    and c["name"] != "delete_task"
                ]
            if not listed and call.get("name") == "list_tasks" and result.get("tasks") is not None:
                listed = [task["id"] for task in result["tasks"]]
        if acted and listed:
            break
    return acted, listed


class _Memory:
    """The tasks last acted on and last listed, worked out again only after a new call.

    Working them out reads the whole history; once per item of a long message ("finish
    it and it and it …") that was quadratic.
    """

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self._calls_seen = -1
        self._tasks: tuple[list[str], list[str]] = ([], [])

    def tasks(self) -> tuple[list[str], list[str]]:
        if self._calls_seen != len(self.turn.calls):
            self._tasks = _remembered_tasks(self.turn.history, self.turn.calls)
            self._calls_seen = len(self.turn.calls)
        return self._tasks


def _resolve_refs(item: str, memory: _Memory) -> list[str] | None:
    """Ids for "it", "them", "the second one"; None when `item` is a title."""
    reference = parse_reference(item)
    if reference is None:
        return None
    acted, listed = memory.tasks()
    if reference.kind == "it":
        return (acted or listed)[-1:] if (acted or listed) else []
    if reference.kind == "them":
        return listed or acted
    if not listed:
        return []
    if reference.kind == "last":
        return listed[-1:]
    index = reference.position
    return [listed[index - 1]] if 0 < index <= len(listed) else []


def _quote(title: str) -> str:
    return f"“{title}”"


def _describe_task(task: dict[str, Any]) -> str:
    extras = []
    if task.get("due_date"):
        extras.append(f"due {task['due_date']}")
    if task.get("priority") and task["priority"] != "medium":
        extras.append(f"{task['priority']} priority")
    mark = "✓ " if task.get("completed") else ""
    return f"{mark}{task['title']}" + (f" ({', '.join(extras)})" if extras else "")


def _clarify(result: dict[str, Any]) -> str:
    candidates = [task["title"] for task in result.get("candidates", [])]
    if result.get("status") == "ambiguous":
        return (
            f"More than one task matches {_quote(result['query'])}: "
            + ", ".join(_quote(c) for c in candidates)
            + ". Which one do you mean?"
        )
    return f"I couldn't find a task called {_quote(result.get('query', ''))}." + (
        " Did you mean " + " or ".join(_quote(c) for c in candidates) + "?" if candidates else ""
    )


class BuiltinAssistant:
    """Understands plain requests without any model or network."""

    def __init__(self) -> None:
        # Parsing is linear, yet a 10,000-character message is still some milliseconds of
        # regular expressions. It runs in one worker thread: the event loop then waits at
        # most a GIL switch interval for it, where parsing on the loop would hold it for the
        # whole message. One thread, not one per message: with the GIL, several parsing
        # threads would make the loop wait behind each of them (see bench/chat_parse.py).
        self._parsing = anyio.CapacityLimiter(1)

    async def respond(self, turn: Turn) -> str:
        actions = await anyio.to_thread.run_sync(parse_actions, turn.message, limiter=self._parsing)
        if not actions:
            return self._small_talk(turn.message)
        lines: list[str] = []
        memory = _Memory(turn)
        for action in actions:
            lines.extend(await self._perform(action, turn, memory))
            if turn.limit_reached:  # the rest of the message is left undone
                break
        return "\n".join(line for line in lines if line)

    @staticmethod
    def _small_talk(message: str) -> str:
        kind = small_talk(message)
        if kind == "greeting":
            return "Hello! I can add, list, complete, rename and delete your tasks. Say “help” to see how."
        if kind == "thanks":
            return "You're welcome! Anything else on your list?"
        return (
            "Sorry, I can only help with your tasks. Try “add buy milk tomorrow”, "
            "“what's on my list?” or “help”."
        )

    async def _perform(self, action: Action, turn: Turn, memory: _Memory) -> list[str]:
        if action.kind == "help":
            return [HELP]
        if action.kind == "list":
            result = await turn.call("list_tasks", {"status": action.status})
            return [] if turn.limit_reached else [self._describe_list(result)]
        if action.kind == "add":
            lines = []
            for item in action.items:
                title, priority, due = extract_details(item, turn.today)
                if not title:
                    lines.append("What should the task be called?")
                    continue
                arguments: dict[str, Any] = {"title": title[:200]}
                if priority:
                    arguments["priority"] = priority
                if due:
                    arguments["due_date"] = due.isoformat()
                result = await turn.call("add_task", arguments)
                if turn.limit_reached:
                    break
                if result.get("status") == "ok":
                    lines.append(f"Added {_quote(_describe_task(result['task']))}.")
                elif result.get("code") == "TASK_LIMIT_REACHED":
                    lines.append(
                        f"I couldn't add {_quote(title[:200])}: you have {result.get('limit')} "
                        "tasks, the most one account may have. Delete some to add more."
                    )
                else:
                    lines.append("I couldn't add that task.")
            return lines
        return await self._change(action, turn, memory)

    @staticmethod
    def _targets(item: str, memory: _Memory) -> list[str] | str:
        refs = _resolve_refs(item, memory)
        if refs is None:
            return [clean_title(item)]
        if not refs:
            return "Which task do you mean? I don't know what “" + item + "” refers to yet."
        return refs

    async def _change(self, action: Action, turn: Turn, memory: _Memory) -> list[str]:
        lines: list[str] = []
        for item in action.items:
            targets = self._targets(item, memory)
            if isinstance(targets, str):
                lines.append(targets)
                continue
            for target in targets:
                line = await self._change_one(action, target, turn)
                if turn.limit_reached:
                    return lines
                lines.append(line)
        return lines

    async def _change_one(self, action: Action, target: str, turn: Turn) -> str:
        if action.kind == "complete":
            result = await turn.call("complete_task", {"task": target})
            done = "Marked {} as done."
        elif action.kind == "reopen":
            result = await turn.call("update_task", {"task": target, "completed": False})
            done = "Marked {} as not done."
        elif action.kind == "delete":
            result = await turn.call("delete_task", {"task": target})
            done = "Deleted {}."
        elif action.kind == "priority":
            result = await turn.call("update_task", {"task": target, "priority": action.value})
            done = "Set {} to " + f"{action.value} priority."
        elif action.kind == "due":
            due = parse_date(action.value or "", turn.today)
            if due is None:
                return f"I didn't understand the date {_quote(action.value or '')}."
            result = await turn.call("update_task", {"task": target, "due_date": due.isoformat()})
            done = "{} is now due " + due.isoformat() + "."
        else:  # rename; "change X to tomorrow" is a due date, not a title
            due = parse_date(action.value or "", turn.today)
            if due is not None:
                result = await turn.call(
                    "update_task", {"task": target, "due_date": due.isoformat()}
                )
                done = "{} is now due " + due.isoformat() + "."
            else:
                new_title = clean_title(action.value or "")
                result = await turn.call("update_task", {"task": target, "title": new_title})
                done = "Renamed {} to " + _quote(new_title) + "."
        if result.get("status") != "ok":
            return _clarify(result)
        old_title = result["task"]["title"] if action.kind != "rename" else target
        if action.kind == "rename" and looks_like_id(target):
            old_title = "the task"
        return done.format(_quote(old_title) if old_title != "the task" else old_title)

    @staticmethod
    def _describe_list(result: dict[str, Any]) -> str:
        label = {"all": "", "pending": "pending ", "completed": "completed "}[
            result.get("filter", "all")
        ]
        tasks = result.get("tasks", [])
        if not tasks:
            return f"You have no {label}tasks."
        lines = [f"Your {label}tasks ({result.get('total', len(tasks))}):"]
        lines += [f"{index}. {_describe_task(task)}" for index, task in enumerate(tasks, start=1)]
        return "\n".join(lines)
