"""The chat page through HTTP: labels, a message and the tool calls under the reply, the
conversation list, errors beside the field, CSRF, a failing model, and isolation."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from fastapi import FastAPI

from tests.helpers import PASSWORD, running, unique_email
from tests.pages.helpers import HTML, csrf_of, read_page, sign_up
from tests.servers import free_port

CONVERSATION = re.compile(r"^/chat/([0-9a-f-]{36})#latest$")


async def page(client: httpx.AsyncClient, path: str = "/chat") -> httpx.Response:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    return response


async def send(
    client: httpx.AsyncClient, message: str, conversation_id: str | None = None
) -> httpx.Response:
    form_page = f"/chat/{conversation_id}" if conversation_id else "/chat"
    token = csrf_of(await client.get(form_page, headers=HTML))
    data = {"csrf_token": token, "message": message}
    if conversation_id:
        data["conversation_id"] = conversation_id
    return await client.post("/chat", data=data, headers=HTML)


async def said(client: httpx.AsyncClient, message: str, conversation_id: str | None = None) -> str:
    """Send `message`; the id of the conversation it went to."""
    sent = await send(client, message, conversation_id)
    assert sent.status_code == 303, sent.text
    match = CONVERSATION.match(sent.headers["location"])
    assert match, sent.headers["location"]
    return match.group(1)


async def test_signed_out_the_chat_page_sends_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/chat", "/chat/6f1c1e0e-0000-4000-8000-000000000000"):
        response = await client.get(path, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fchat")
    posted = await client.post("/chat", data={"message": "hi"}, headers=HTML)
    assert posted.headers["location"] == "/login?next=%2Fchat"


async def test_the_chat_page_labels_its_form(client: httpx.AsyncClient) -> None:
    await sign_up(client, unique_email("chat-labels"), PASSWORD)
    response = await page(client)
    read = read_page(response.text)
    assert read.labels == {"message": "Message"}
    assert "Send" in read.buttons
    assert '<a class="button secondary" href="/chat">New conversation</a>' in response.text
    assert "No conversations yet." in response.text
    assert '<a href="/chat" aria-current="page">Chat</a>' in response.text


async def test_the_reply_shows_each_tool_call_and_the_task_is_on_the_tasks_page(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, unique_email("chat-milk"), PASSWORD)
    conversation_id = await said(client, "add a task to buy milk")
    shown = await page(client, f"/chat/{conversation_id}")
    assert "Added “buy milk”." in shown.text
    assert "Tool call: <code>add_task</code>" in shown.text
    assert "&#34;title&#34;: &#34;buy milk&#34;" in shown.text  # the arguments, as JSON
    assert "&#34;status&#34;: &#34;ok&#34;" in shown.text  # and the result
    assert 'id="latest"' in shown.text
    assert f'<a href="/chat/{conversation_id}" aria-current="page">add a task to buy milk</a>' in (
        shown.text
    )
    assert f'name="conversation_id" value="{conversation_id}"' in shown.text
    tasks = await client.get("/tasks", headers=HTML)
    assert ">buy milk</span>" in tasks.text

    # The next message goes on in the same conversation.
    assert await said(client, "what's on my list?", conversation_id) == conversation_id
    shown = await page(client, f"/chat/{conversation_id}")
    assert shown.text.count('class="tool-call"') == 2
    assert "Tool call: <code>list_tasks</code>" in shown.text
    assert shown.text.count('<li class="message user"') == 2

    # "New conversation" starts another; both are listed, the newest first.
    fresh = await page(client)
    assert 'name="conversation_id"' not in fresh.text
    other_id = await said(client, "hello")
    assert other_id != conversation_id
    listed = await page(client)
    assert listed.text.index(f"/chat/{other_id}") < listed.text.index(f"/chat/{conversation_id}")


async def test_message_errors_are_shown_beside_the_field(client: httpx.AsyncClient) -> None:
    await sign_up(client, unique_email("chat-errors"), PASSWORD)
    empty = await send(client, "   ")
    assert empty.status_code == 422
    assert read_page(empty.text).errors == ["Enter a message."]
    assert 'aria-describedby="message-error"' in empty.text
    too_long = await send(client, "x" * 10_001)
    assert too_long.status_code == 422
    assert read_page(too_long.text).errors == [
        "The message is too long: at most 10,000 characters."
    ]
    assert "No conversations yet." in (await page(client)).text


async def test_the_message_form_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, unique_email("chat-csrf"), PASSWORD)
    refused = await client.post("/chat", data={"message": "add a task to x"}, headers=HTML)
    assert refused.status_code == 403
    assert "Form refused" in refused.text
    token = csrf_of(await page(client))
    cross_site = await client.post(
        "/chat",
        data={"csrf_token": token, "message": "add a task to y"},
        headers={**HTML, "Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403
    assert "No conversations yet." in (await page(client)).text


async def test_one_users_conversation_is_a_404_page_for_another(app: FastAPI) -> None:
    async with running(app) as owner, running(app) as other:
        await sign_up(owner, unique_email("chat-owner"), PASSWORD)
        await sign_up(other, unique_email("chat-other"), PASSWORD)
        conversation_id = await said(owner, "add a task to keep this private")

        assert "No conversations yet." in (await page(other)).text
        seen = await other.get(f"/chat/{conversation_id}", headers=HTML)
        assert seen.status_code == 404
        assert "Conversation not found" in seen.text
        assert "keep this private" not in seen.text
        token = csrf_of(await page(other))
        for target in (conversation_id, "not-an-id"):
            posted = await other.post(
                "/chat",
                data={"csrf_token": token, "message": "delete it", "conversation_id": target},
                headers=HTML,
            )
            assert posted.status_code == 404
        assert (await other.get("/chat/not-an-id", headers=HTML)).status_code == 404

        mine = await page(owner, f"/chat/{conversation_id}")
        assert mine.text.count('<li class="message') == 2
        assert "delete it" not in mine.text


async def test_conversations_are_listed_in_pages(client: httpx.AsyncClient) -> None:
    await sign_up(client, unique_email("chat-pages"), PASSWORD)
    for number in range(21):
        await said(client, f"hello number {number}")
    first = await page(client)
    assert first.text.count('class="conversation-list"') == 1
    assert "hello number 20" in first.text
    assert "hello number 0<" not in first.text
    assert "Page 1 of 2" in first.text
    assert 'href="/chat?page=2"' in first.text
    second = await page(client, "/chat?page=2")
    assert "hello number 0<" in second.text
    assert 'href="/chat?page=1"' in second.text


async def test_a_model_that_does_not_answer_is_shown_on_the_form(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(
        CHAT_PROVIDER="openai",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",  # nothing listens there
        OPENAI_TIMEOUT_SECONDS=5,
    )
    async with running(app) as client:
        await sign_up(client, unique_email("chat-down"), PASSWORD)
        failed = await send(client, "add a task to call the plumber")
        assert failed.status_code == 503
        assert "The assistant could not answer" in read_page(failed.text).errors[0]
        assert ">add a task to call the plumber</textarea>" in failed.text
        # The message was kept in a conversation; trying again there fails the same way.
        listed = await page(client)
        (conversation_id,) = re.findall(r'href="/chat/([0-9a-f-]{36})"', listed.text)
        again = await send(client, "add a task to call the plumber", conversation_id)
        assert again.status_code == 503
        assert f'name="conversation_id" value="{conversation_id}"' in again.text
        assert again.text.count('<li class="message user"') == 2

    limited = app_factory(RATE_LIMIT_ENABLED=True, RATE_LIMIT_DEFAULT="1/minute")
    async with running(limited) as client:
        await sign_up(client, unique_email("chat-rate"), PASSWORD)
        await said(client, "hello")
        refused = await send(client, "hello again")
        assert refused.status_code == 429
        assert read_page(refused.text).errors[0].startswith("Too many attempts.")


async def test_the_chat_script_is_served_by_the_app_and_no_page_has_an_inline_script(
    client: httpx.AsyncClient,
) -> None:
    script = await client.get("/static/chat.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "fetch(" in script.text
    await sign_up(client, unique_email("chat-script"), PASSWORD)
    chat = await page(client)
    assert "script-src 'self'" in chat.headers["content-security-policy"]
    assert re.findall(r"<script[^>]*>", chat.text) == ['<script src="/static/chat.js" defer>']
    tasks = await client.get("/tasks", headers=HTML)
    assert "<script" not in tasks.text
