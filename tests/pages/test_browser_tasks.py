"""The tasks and chat pages in a real browser: Debian's Chromium driven by Playwright,
JavaScript off (and on, for the chat page's script), against `gatehouse serve`.

Skipped (with the reason) when Chromium is missing; CI installs it (`.ci/run`). Each step
waits at most TIMEOUT_MS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers import PASSWORD, unique_email
from tests.servers import free_port

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 10_000

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
    ),
    pytest.mark.timeout(60),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def site(start_server: Callable[..., str], tmp_path: Path) -> str:
    """The base URL of a running service on its own SQLite database."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    start_server(
        port=port,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'browser-tasks.db'}",
        ENVIRONMENT="development",
        PUBLIC_URL=base_url,
    )
    return base_url


def signed_up_page(
    browser: Browser, base_url: str, prefix: str, *, javascript: bool = False
) -> Page:
    """A new browser (JavaScript off unless asked) signed up through the sign-up page, on
    /tasks."""
    context = browser.new_context(base_url=base_url, java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/signup")
    page.get_by_label("Email").fill(unique_email(prefix))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/tasks\?notice=welcome$"))
    return page


def add_task(page: Page, title: str, **fields: str) -> None:
    page.get_by_label("Title").fill(title)
    if "description" in fields:
        page.get_by_label("Description").fill(fields["description"])
    if "priority" in fields:
        page.get_by_label("Priority").select_option(fields["priority"])
    if "due_date" in fields:
        page.get_by_label("Due date").fill(fields["due_date"])
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_text("The task is added.")).to_be_visible()


def test_add_complete_filter_and_delete_a_task(browser: Browser, site: str) -> None:
    page = signed_up_page(browser, site, "browser-tasks")
    expect(page.get_by_text("No tasks yet.")).to_be_visible()

    page.get_by_role("button", name="Add task").click()  # nothing typed
    expect(page.locator("#title-error")).to_have_text("Enter a title.")
    add_task(page, "Buy milk", description="Two litres", priority="high", due_date="2030-01-31")
    add_task(page, "Call mum")
    milk = page.locator("li.task", has_text="Buy milk")
    expect(milk).to_contain_text("Priority: high · Due 2030-01-31")
    expect(milk).to_contain_text("Two litres")
    expect(page.locator("li.task")).to_have_count(2)

    milk.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("The task is done.")).to_be_visible()
    expect(page.locator("li.task.done")).to_have_text(re.compile("Buy milk"))

    filters = page.get_by_role("navigation", name="Filter tasks")
    filters.get_by_role("link", name="Done").click()
    expect(page).to_have_url(re.compile(r"/tasks\?status=done$"))
    expect(page.locator("li.task")).to_have_count(1)
    expect(page.locator("li.task")).to_contain_text("Buy milk")
    filters.get_by_role("link", name="Open").click()
    expect(page.locator("li.task")).to_have_count(1)
    expect(page.locator("li.task")).to_contain_text("Call mum")

    filters.get_by_role("link", name="All").click()
    page.get_by_label("Search").fill("milk")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("li.task")).to_have_count(1)
    page.locator("li.task", has_text="Buy milk").get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Buy oat milk")
    page.get_by_role("button", name="Save task").click()
    expect(page).to_have_url(re.compile(r"/tasks\?q=milk&notice=task-saved$"))
    oat = page.locator("li.task", has_text="Buy oat milk")
    oat.get_by_role("button", name="Reopen").click()
    expect(page.get_by_text("The task is open again.")).to_be_visible()
    page.locator("li.task", has_text="Buy oat milk").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("The task is deleted.")).to_be_visible()
    expect(page.get_by_text("No tasks match.")).to_be_visible()

    page.get_by_role("banner").get_by_role("link", name="Tasks").click()
    expect(page.locator("li.task")).to_have_count(1)
    expect(page.locator("li.task")).to_contain_text("Call mum")


def test_ask_the_assistant_to_add_a_task_and_see_the_tool_call(browser: Browser, site: str) -> None:
    page = signed_up_page(browser, site, "browser-chat")
    page.get_by_role("banner").get_by_role("link", name="Chat").click()
    expect(page).to_have_url(re.compile(r"/chat$"))
    page.get_by_label("Message").fill("add a task to buy milk")
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f-]{36}#latest$"))
    reply = page.locator("li.message.assistant")
    expect(reply).to_contain_text("Added “buy milk”.")
    call = reply.locator("li.tool-call")
    expect(call).to_have_count(1)
    expect(call.locator("code")).to_have_text("add_task")
    expect(call.locator("dd").first).to_contain_text('"title": "buy milk"')
    expect(call.locator("dd").last).to_contain_text('"status": "ok"')
    conversations = page.get_by_role("region", name="Conversations")
    expect(conversations.get_by_role("link", name="add a task to buy milk")).to_be_visible()

    page.get_by_role("banner").get_by_role("link", name="Tasks").click()
    expect(page.locator("li.task")).to_have_count(1)
    expect(page.locator("li.task")).to_contain_text("buy milk")

    page.get_by_role("banner").get_by_role("link", name="Chat").click()
    page.get_by_role("link", name="New conversation").click()
    expect(page.get_by_role("heading", name="New conversation")).to_be_visible()
    listed = page.get_by_role("region", name="Conversations").get_by_role("listitem")
    expect(listed).to_have_count(1)


def test_with_javascript_a_message_is_sent_without_reloading_the_page(
    browser: Browser, site: str
) -> None:
    page = signed_up_page(browser, site, "browser-chat-js", javascript=True)
    page.goto("/chat")
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Message").fill("add a task to buy milk")
    page.get_by_role("button", name="Send").click()
    reply = page.locator("li.message.assistant")
    expect(reply).to_contain_text("Added “buy milk”.")
    expect(reply.locator("li.tool-call code")).to_have_text("add_task")
    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    expect(page.get_by_label("Message")).to_be_focused()

    page.get_by_label("Message").fill("what's on my list?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("li.message.assistant")).to_have_count(2)
    expect(page.locator("li.message.assistant").last).to_contain_text("buy milk")
    page.get_by_role("button", name="Send").click()  # nothing typed: the error, in place
    expect(page.locator("#message-error")).to_have_text("Enter a message.")
    assert page.evaluate("window.sameDocument") is True  # never reloaded
    listed = page.get_by_role("region", name="Conversations").get_by_role("listitem")
    expect(listed).to_have_count(1)
