"""The tasks page through HTTP: labels, add / edit / complete / reopen / delete, errors
beside fields, CSRF, filters, search and pages, and one user's tasks hidden from another."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from fastapi import FastAPI

from tests.helpers import PASSWORD, running, unique_email
from tests.pages.helpers import HTML, csrf_of, read_page, sign_up

TASK_ID = re.compile(r'data-task="([0-9a-f-]{36})"')


async def tasks_page(client: httpx.AsyncClient, path: str = "/tasks") -> httpx.Response:
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    return page


async def post(
    client: httpx.AsyncClient, action: str, form_page: str = "/tasks", **data: str
) -> httpx.Response:
    """POST a form of `form_page` with the session's CSRF token."""
    token = csrf_of(await client.get(form_page, headers=HTML))
    return await client.post(action, data={"csrf_token": token, **data}, headers=HTML)


async def add(client: httpx.AsyncClient, title: str, **fields: str) -> httpx.Response:
    added = await post(client, "/tasks", title=title, **fields)
    assert added.status_code == 303, added.text
    return added


def task_ids(page: httpx.Response) -> list[str]:
    return TASK_ID.findall(page.text)


def titles(page: httpx.Response) -> list[str]:
    return re.findall(r'<span class="task-title" id="task-[^"]+">([^<]*)</span>', page.text)


async def signed_up_client(client: httpx.AsyncClient, prefix: str) -> str:
    email = unique_email(prefix)
    await sign_up(client, email, PASSWORD)
    return email


async def test_signed_out_the_tasks_page_sends_to_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/tasks", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Ftasks"
    edit = await client.get("/tasks/6f1c1e0e-0000-4000-8000-000000000000", headers=HTML)
    assert edit.headers["location"] == "/login?next=%2Ftasks"
    posted = await client.post("/tasks", data={"title": "x"}, headers=HTML)
    assert posted.status_code == 303
    assert posted.headers["location"] == "/login?next=%2Ftasks"


async def test_the_tasks_page_labels_its_fields_and_buttons(client: httpx.AsyncClient) -> None:
    await signed_up_client(client, "task-labels")
    page = read_page((await tasks_page(client)).text)
    assert page.labels == {
        "title": "Title",
        "description": "Description",
        "priority": "Priority",
        "due_date": "Due date",
        "q": "Search",
    }
    assert {"Add task", "Search", "Sign out"} <= set(page.buttons)
    await add(client, "Water the plants")
    listed = read_page((await tasks_page(client)).text)
    assert {"Complete", "Delete"} <= set(listed.buttons)
    html = (await tasks_page(client)).text
    for link in ('href="/tasks"', 'href="/chat"', 'href="/account"'):
        assert link in html
    assert '<a href="/tasks" aria-current="page">Tasks</a>' in html


async def test_add_edit_complete_reopen_and_delete_a_task(client: httpx.AsyncClient) -> None:
    await signed_up_client(client, "task-journey")
    added = await add(
        client,
        "Buy milk",
        description="Two litres",
        priority="high",
        due_date="2030-01-31",
    )
    assert added.headers["location"] == "/tasks?notice=task-added"
    page = await tasks_page(client, added.headers["location"])
    assert "The task is added." in page.text
    (task_id,) = task_ids(page)
    assert titles(page) == ["Buy milk"]
    assert "Two litres" in page.text
    assert "Priority: high · Due 2030-01-31" in page.text

    edit = await tasks_page(client, f"/tasks/{task_id}")
    form = read_page(edit.text)
    assert set(form.labels.values()) == {"Title", "Description", "Priority", "Due date"}
    assert "Save task" in form.buttons
    assert 'value="Buy milk"' in edit.text
    assert '<option value="high" selected>' in edit.text
    saved = await post(
        client,
        f"/tasks/{task_id}",
        f"/tasks/{task_id}",
        title="Buy oat milk",
        description="",
        priority="low",
        due_date="",
    )
    assert saved.headers["location"] == "/tasks?notice=task-saved"
    page = await tasks_page(client)
    assert titles(page) == ["Buy oat milk"]
    assert "Two litres" not in page.text
    assert "Priority: low<" in page.text

    done = await post(client, f"/tasks/{task_id}/complete")
    assert done.headers["location"] == "/tasks?notice=task-done"
    page = await tasks_page(client)
    assert "Reopen" in read_page(page.text).buttons
    assert 'class="task done"' in page.text
    reopened = await post(client, f"/tasks/{task_id}/reopen")
    assert reopened.headers["location"] == "/tasks?notice=task-reopened"
    assert "Complete" in read_page((await tasks_page(client)).text).buttons

    deleted = await post(client, f"/tasks/{task_id}/delete")
    assert deleted.headers["location"] == "/tasks?notice=task-deleted"
    page = await tasks_page(client, deleted.headers["location"])
    assert task_ids(page) == []
    assert "No tasks yet." in page.text
    gone = await client.get(f"/tasks/{task_id}", headers=HTML)
    assert gone.status_code == 404


async def test_errors_are_shown_beside_their_field_and_the_form_keeps_what_was_typed(
    client: httpx.AsyncClient,
) -> None:
    await signed_up_client(client, "task-errors")
    untitled = await post(client, "/tasks", title="  ", description="Keep me", priority="low")
    assert untitled.status_code == 422
    assert read_page(untitled.text).errors == ["Enter a title."]
    assert 'aria-describedby="title-error"' in untitled.text
    assert ">Keep me</textarea>" in untitled.text
    assert '<option value="low" selected>' in untitled.text

    bad_date = await post(client, "/tasks", title="Dated", due_date="2030-02-30")
    assert bad_date.status_code == 422
    assert read_page(bad_date.text).errors == ["Enter a date as YYYY-MM-DD."]
    assert 'id="due_date-error"' in bad_date.text
    assert '<option value="medium" selected>' in bad_date.text  # none chosen: the default
    bad_priority = await post(client, "/tasks", title="Urgent", priority="urgent")
    assert read_page(bad_priority.text).errors == ["Choose low, medium or high."]
    too_long = await post(client, "/tasks", title="x" * 201)
    assert too_long.status_code == 422
    assert read_page(too_long.text).errors == ["String should have at most 200 characters."]
    assert task_ids(await tasks_page(client)) == []

    await add(client, "Edit me")
    (task_id,) = task_ids(await tasks_page(client))
    emptied = await post(client, f"/tasks/{task_id}", f"/tasks/{task_id}", title="")
    assert emptied.status_code == 422
    assert read_page(emptied.text).errors == ["Enter a title."]
    assert titles(await tasks_page(client)) == ["Edit me"]


async def test_task_forms_without_their_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    await signed_up_client(client, "task-csrf")
    await add(client, "Protected")
    (task_id,) = task_ids(await tasks_page(client))
    token = csrf_of(await tasks_page(client))
    for action in ("/tasks", f"/tasks/{task_id}", f"/tasks/{task_id}/complete"):
        refused = await client.post(action, data={"title": "Forged"}, headers=HTML)
        assert refused.status_code == 403, action
        assert "Form refused" in refused.text
    cross_site = await client.post(
        f"/tasks/{task_id}/delete",
        data={"csrf_token": token},
        headers={**HTML, "Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    page = await tasks_page(client)
    assert titles(page) == ["Protected"]
    assert 'class="task done"' not in page.text


async def test_one_users_task_is_a_404_page_for_another(app: FastAPI) -> None:
    async with running(app) as owner, running(app) as other:
        await signed_up_client(owner, "task-owner")
        await signed_up_client(other, "task-other")
        await add(owner, "Mine alone")
        (task_id,) = task_ids(await tasks_page(owner))

        assert task_ids(await tasks_page(other)) == []
        seen = await other.get(f"/tasks/{task_id}", headers=HTML)
        assert seen.status_code == 404
        assert "Task not found" in seen.text
        assert "Mine alone" not in seen.text
        for action in (
            f"/tasks/{task_id}",
            f"/tasks/{task_id}/complete",
            f"/tasks/{task_id}/delete",
        ):
            refused = await post(other, action, title="Taken over")
            assert refused.status_code == 404, action
            assert "Mine alone" not in refused.text
        for bad in ("not-a-task", "00000000-0000-0000-0000-000000000000"):
            assert (await other.get(f"/tasks/{bad}", headers=HTML)).status_code == 404
            assert (await post(other, f"/tasks/{bad}/delete")).status_code == 404

        page = await tasks_page(owner)
        assert titles(page) == ["Mine alone"]
        assert 'class="task done"' not in page.text


async def test_filters_search_and_pages(client: httpx.AsyncClient) -> None:
    await signed_up_client(client, "task-list")
    for number in range(1, 24):
        await add(client, f"Chore {number:02d}", description="garden" if number % 5 == 0 else "")
    first = await tasks_page(client)
    assert "23 tasks." in first.text
    assert len(task_ids(first)) == 20  # the API's page size
    assert titles(first)[0] == "Chore 23"  # newest first, as the API
    assert "Page 1 of 2" in first.text
    assert 'href="/tasks?page=2"' in first.text
    second = await tasks_page(client, "/tasks?page=2")
    assert titles(second) == ["Chore 03", "Chore 02", "Chore 01"]
    assert 'href="/tasks"' in second.text  # Previous
    added_on_page_two = await post(client, "/tasks", title="Chore 24", back="/tasks?page=2&q=chore")
    assert added_on_page_two.headers["location"] == "/tasks?q=chore&notice=task-added"
    (newest,) = task_ids(await tasks_page(client, "/tasks?q=chore+24"))
    assert (await post(client, f"/tasks/{newest}/delete")).status_code == 303
    past_the_end = await tasks_page(client, "/tasks?page=9")
    assert titles(past_the_end) == titles(second)
    assert titles(await tasks_page(client, "/tasks?page=zero")) == titles(first)

    for task_id in task_ids(second):
        done = await post(client, f"/tasks/{task_id}/complete", back="/tasks?page=2&status=all")
        assert done.headers["location"] == "/tasks?page=2&notice=task-done"
    done_page = await tasks_page(client, "/tasks?status=done")
    assert sorted(titles(done_page)) == ["Chore 01", "Chore 02", "Chore 03"]
    assert "3 tasks, done." in done_page.text
    assert '<a href="/tasks?status=done" aria-current="page">Done</a>' in done_page.text
    open_page = await tasks_page(client, "/tasks?status=open")
    assert "20 tasks, open." in open_page.text
    assert "Page 1 of 2" not in open_page.text

    found = await tasks_page(client, "/tasks?q=GARDEN")
    assert sorted(titles(found)) == ["Chore 05", "Chore 10", "Chore 15", "Chore 20"]
    assert 'value="GARDEN"' in found.text
    found_open = await tasks_page(client, "/tasks?q=chore+0&status=open")
    assert sorted(titles(found_open)) == [f"Chore 0{n}" for n in range(4, 10)]
    assert 'name="status" value="open"' in found_open.text  # the search keeps the filter
    nothing = await tasks_page(client, "/tasks?q=nothing+like+this")
    assert "No tasks match." in nothing.text
    assert titles(await tasks_page(client, "/tasks?status=bogus")) == titles(first)

    # A form sent from a filtered, searched page comes back to it; an off-site `back` does not.
    (task_id,) = task_ids(await tasks_page(client, "/tasks?q=chore+23&status=open"))
    back = await post(client, f"/tasks/{task_id}/complete", back="/tasks?status=open&q=chore 23")
    assert back.headers["location"] == "/tasks?status=open&q=chore+23&notice=task-done"
    for elsewhere in ("https://evil.example/tasks", "/account", "//evil.example/tasks"):
        reopened = await post(client, f"/tasks/{task_id}/reopen", back=elsewhere)
        assert reopened.headers["location"] == "/tasks?notice=task-reopened"
    edit = await tasks_page(client, f"/tasks/{task_id}?back=/tasks%3Fstatus%3Dopen")
    assert 'name="back" value="/tasks?status=open"' in edit.text


async def test_the_task_limit_and_the_rate_limit_are_shown_on_the_form(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(TASKS_MAX_PER_USER=1)
    async with running(app) as client:
        await signed_up_client(client, "task-limit")
        await add(client, "The only one")
        refused = await post(client, "/tasks", title="One too many")
        assert refused.status_code == 409
        assert "delete some to add more" in read_page(refused.text).errors[0]
        assert 'value="One too many"' in refused.text

    limited_app = app_factory(RATE_LIMIT_ENABLED=True, RATE_LIMIT_DEFAULT="2/minute")
    async with running(limited_app) as client:
        await signed_up_client(client, "task-rate")
        await add(client, "First")
        await add(client, "Second")
        (task_id, _) = task_ids(await tasks_page(client))
        limited = await post(client, "/tasks", title="Third")
        assert limited.status_code == 429
        assert read_page(limited.text).errors[0].startswith("Too many attempts. Try again in")
        assert 'value="Third"' in limited.text
        also_limited = await post(client, f"/tasks/{task_id}/delete")
        assert also_limited.status_code == 429
        assert len(task_ids(await tasks_page(client))) == 2
