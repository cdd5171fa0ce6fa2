"""Every route of the API as a `Call`: its method, path, body and answer type.

Both clients run the same calls, so the request shapes are written once; `Client` and
`AsyncClient` only add the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from gatehouse_client import models

T = TypeVar("T")
_NOTHING: Any = object()


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    answer: TypeAdapter[T] | None
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, str] | None = None
    authenticated: bool = True

    def parse(self, payload: Any) -> T:
        if self.answer is None:
            return None  # type: ignore[return-value]
        return self.answer.validate_python(payload)


def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _fields(**values: Any) -> dict[str, Any]:
    """Only the fields the caller gave (None is a value; _NOTHING means 'leave it')."""
    return {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in values.items()
        if v is not _NOTHING
    }


def _query(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


USER = _adapter(models.User)
TOKENS = _adapter(models.TokenPair)
TASK = _adapter(models.Task)
MESSAGE = _adapter(models.MessageReply)


# --- accounts and tokens
def register(email: str, password: str, full_name: str | None = None) -> Call[models.User]:
    body = _fields(email=email, password=password, full_name=full_name)
    return Call("POST", "/api/v1/auth/register", USER, json=body, authenticated=False)


def login(email: str, password: str) -> Call[models.TokenPair]:
    body = {"email": email, "password": password}
    return Call("POST", "/api/v1/auth/login", TOKENS, json=body, authenticated=False)


def login_form(email: str, password: str) -> Call[models.TokenPair]:
    form = {"username": email, "password": password}
    return Call("POST", "/api/v1/auth/token", TOKENS, data=form, authenticated=False)


def refresh(refresh_token: str) -> Call[models.TokenPair]:
    body = {"refresh_token": refresh_token}
    return Call("POST", "/api/v1/auth/refresh", TOKENS, json=body, authenticated=False)


def logout(refresh_token: str | None = None) -> Call[None]:
    body = {"refresh_token": refresh_token} if refresh_token else None
    return Call("POST", "/api/v1/auth/logout", None, json=body)


def logout_all() -> Call[None]:
    return Call("POST", "/api/v1/auth/logout-all", None)


def sessions() -> Call[list[models.Session]]:
    return Call("GET", "/api/v1/auth/sessions", _adapter(list[models.Session]))


def revoke_session(session_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/auth/sessions/{session_id}", None)


def forgot_password(email: str) -> Call[models.MessageReply]:
    body = {"email": email}
    return Call("POST", "/api/v1/auth/forgot-password", MESSAGE, json=body, authenticated=False)


def reset_password(token: str, new_password: str) -> Call[models.MessageReply]:
    body = {"token": token, "new_password": new_password}
    return Call("POST", "/api/v1/auth/reset-password", MESSAGE, json=body, authenticated=False)


def change_password(current_password: str, new_password: str) -> Call[None]:
    body = {"current_password": current_password, "new_password": new_password}
    return Call("POST", "/api/v1/auth/change-password", None, json=body)


def request_verification() -> Call[models.MessageReply]:
    return Call("POST", "/api/v1/auth/verify/request", MESSAGE)


def verify(token: str) -> Call[models.User]:
    return Call("POST", "/api/v1/auth/verify", USER, json={"token": token}, authenticated=False)


# --- second factor
MFA = "/api/v1/auth/mfa"
RECOVERY_CODES = _adapter(models.RecoveryCodes)


def verify_mfa(mfa_token: str, code: str) -> Call[models.TokenPair]:
    body = {"mfa_token": mfa_token, "code": code}
    return Call("POST", f"{MFA}/verify", TOKENS, json=body, authenticated=False)


def setup_totp(password: str) -> Call[models.TotpSetup]:
    return Call(
        "POST", f"{MFA}/totp/setup", _adapter(models.TotpSetup), json={"password": password}
    )


def confirm_totp(code: str) -> Call[models.RecoveryCodes]:
    return Call("POST", f"{MFA}/totp/confirm", RECOVERY_CODES, json={"code": code})


def disable_totp(password: str, code: str) -> Call[None]:
    return Call("DELETE", f"{MFA}/totp", None, json={"password": password, "code": code})


def regenerate_recovery_codes(password: str, code: str) -> Call[models.RecoveryCodes]:
    body = {"password": password, "code": code}
    return Call("POST", f"{MFA}/recovery-codes", RECOVERY_CODES, json=body)


# --- users
def me() -> Call[models.User]:
    return Call("GET", "/api/v1/users/me", USER)


def update_me(
    *, full_name: Any = _NOTHING, email: Any = _NOTHING, current_password: Any = _NOTHING
) -> Call[models.User]:
    body = _fields(full_name=full_name, email=email, current_password=current_password)
    return Call("PATCH", "/api/v1/users/me", USER, json=body)


def delete_me(password: str) -> Call[None]:
    return Call("DELETE", "/api/v1/users/me", None, json={"password": password})


def list_users(
    *,
    page: int = 1,
    page_size: int = 20,
    q: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    sort: str | None = None,
) -> Call[models.Page[models.User]]:
    params = _query(page=page, page_size=page_size, q=q, role=role, is_active=is_active, sort=sort)
    return Call("GET", "/api/v1/users", _adapter(models.Page[models.User]), params=params)


def create_user(
    email: str, password: str, *, full_name: str | None = None, role: str = "user"
) -> Call[models.User]:
    body = _fields(email=email, password=password, full_name=full_name, role=role)
    return Call("POST", "/api/v1/users", USER, json=body)


def get_user(user_id: str) -> Call[models.User]:
    return Call("GET", f"/api/v1/users/{user_id}", USER)


def update_user(
    user_id: str,
    *,
    full_name: Any = _NOTHING,
    email: Any = _NOTHING,
    role: Any = _NOTHING,
    is_active: Any = _NOTHING,
) -> Call[models.User]:
    body = _fields(full_name=full_name, email=email, role=role, is_active=is_active)
    return Call("PATCH", f"/api/v1/users/{user_id}", USER, json=body)


def delete_user(user_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/users/{user_id}", None)


# --- tasks
def list_tasks(
    *,
    page: int = 1,
    page_size: int = 20,
    completed: bool | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> Call[models.Page[models.Task]]:
    params = _query(page=page, page_size=page_size, completed=completed, q=q, sort=sort)
    return Call("GET", "/api/v1/tasks", _adapter(models.Page[models.Task]), params=params)


def create_task(
    title: str,
    *,
    description: str | None = None,
    priority: str = "medium",
    due_date: date | None = None,
    completed: bool = False,
) -> Call[models.Task]:
    body = _fields(
        title=title,
        description=description,
        priority=priority,
        due_date=due_date,
        completed=completed,
    )
    return Call("POST", "/api/v1/tasks", TASK, json=body)


def get_task(task_id: str) -> Call[models.Task]:
    return Call("GET", f"/api/v1/tasks/{task_id}", TASK)


def update_task(
    task_id: str,
    *,
    title: Any = _NOTHING,
    description: Any = _NOTHING,
    priority: Any = _NOTHING,
    due_date: Any = _NOTHING,
    completed: Any = _NOTHING,
) -> Call[models.Task]:
    body = _fields(
        title=title,
        description=description,
        priority=priority,
        due_date=due_date,
        completed=completed,
    )
    return Call("PATCH", f"/api/v1/tasks/{task_id}", TASK, json=body)


def replace_task(
    task_id: str,
    title: str,
    *,
    description: str | None = None,
    priority: str = "medium",
    due_date: date | None = None,
    completed: bool = False,
) -> Call[models.Task]:
    body = _fields(
        title=title,
        description=description,
        priority=priority,
        due_date=due_date,
        completed=completed,
    )
    return Call("PUT", f"/api/v1/tasks/{task_id}", TASK, json=body)


def delete_task(task_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/tasks/{task_id}", None)


# --- chat
def chat(message: str, conversation_id: str | None = None) -> Call[models.ChatReply]:
    body = {"message": message, "conversation_id": conversation_id}
    return Call("POST", "/api/v1/chat", _adapter(models.ChatReply), json=body)


def list_conversations(
    *, page: int = 1, page_size: int = 20
) -> Call[models.Page[models.Conversation]]:
    params = {"page": page, "page_size": page_size}
    return Call(
        "GET", "/api/v1/conversations", _adapter(models.Page[models.Conversation]), params=params
    )


def get_conversation(conversation_id: str) -> Call[models.ConversationDetail]:
    path = f"/api/v1/conversations/{conversation_id}"
    return Call("GET", path, _adapter(models.ConversationDetail))


def delete_conversation(conversation_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/conversations/{conversation_id}", None)


# --- audit (admin)
def list_audit_events(
    *, page: int = 1, page_size: int = 20, user_id: str | None = None, kind: str | None = None
) -> Call[models.Page[models.AuditEvent]]:
    params = _query(page=page, page_size=page_size, user_id=user_id, kind=kind)
    return Call("GET", "/api/v1/audit", _adapter(models.Page[models.AuditEvent]), params=params)
