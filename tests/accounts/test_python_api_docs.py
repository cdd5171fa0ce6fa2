"""The examples of docs/python-api.md run, in order, against a database of their own,
with the settings coming from the environment as the page says."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import bcrypt
import pytest

from gatehouse.accounts import SyncAccounts
from gatehouse.core.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"
IMPORTED = [("old-1@example.com", "first old password"), ("old-2@example.com", "second one")]


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def _exercise_database(path: Path) -> None:
    """The exercise's table, with bcrypt hashes as its DB.add_user stored them."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(250) NOT NULL, "
            "hashed_password VARCHAR(250) NOT NULL, session_id VARCHAR(250), "
            "reset_token VARCHAR(250))"
        )
        for email, password in IMPORTED:
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4))
            db.execute("INSERT INTO users (email, hashed_password) VALUES (?, ?)", (email, hashed))
    db.close()


def test_the_examples_run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocks = examples()
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "ARGON2_MEMORY_COST_KIB", "ARGON2_TIME_COST"):
        monkeypatch.setenv(name, str(getattr(settings, name)))
    monkeypatch.setenv("SECRET_KEY", settings.secret_key)
    _exercise_database(tmp_path / "a.db")
    for number, code in enumerate(blocks, start=1):
        namespace: dict[str, object] = {"__name__": f"example_{number}_{uuid.uuid4().hex}"}
        exec(compile(code, f"{DOC.name}, example {number}", "exec"), namespace)  # noqa: S102
    with SyncAccounts.open(settings) as accounts:
        for email, password in IMPORTED:
            assert accounts.valid_login(email, password)
        grace = accounts.find_user_by(email="grace@example.com")
        assert (grace.full_name, grace.is_verified) == ("Grace Hopper", True)
