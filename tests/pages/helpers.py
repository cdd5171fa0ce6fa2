"""Reading the HTML pages in tests: forms, labels, CSRF tokens, errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

HTML = {"Accept": "text/html"}


@dataclass
class Page:
    """The labels, inputs, buttons and errors of a page."""

    labels: dict[str, str] = field(default_factory=dict)  # input id -> label text
    inputs: list[dict[str, str]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self._label_for: str | None = None
        self._text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "label":
            self._label_for, self._in, self._text = values.get("for", ""), "label", []
        elif tag == "button":
            self._in, self._text = "button", []
        elif tag == "p" and "error" in values.get("class", "").split():
            self._in, self._text = "error", []
        elif tag == "input":
            self.page.inputs.append(values)

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        text = " ".join("".join(self._text).split())
        if tag == "label" and self._in == "label":
            self.page.labels[self._label_for or ""] = text
        elif tag == "button" and self._in == "button":
            self.page.buttons.append(text)
        elif tag == "p" and self._in == "error":
            self.page.errors.append(text)
        else:
            return
        self._in = None


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    return reader.page


def csrf_of(response: httpx.Response) -> str:
    """The CSRF token of the page's (first) form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


def visible_fields(page: Page) -> dict[str, str]:
    """Label text of each visible input, by the input's id."""
    return {
        item["id"]: page.labels.get(item["id"], "")
        for item in page.inputs
        if item.get("type") != "hidden"
    }


async def submit(
    client: httpx.AsyncClient, form_page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """GET the page with the form, then POST the form with its CSRF token."""
    page = await client.get(form_page, headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": csrf_of(page), **data}, headers=HTML)


async def sign_up(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    response = await submit(client, "/signup", "/signup", {"email": email, "password": password})
    assert response.status_code == 303, response.text
    return response


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str, next_path: str | None = None
) -> httpx.Response:
    data = {"email": email, "password": password, **({"next": next_path} if next_path else {})}
    return await submit(client, "/login", "/login", data)
