"""One source per vocabulary: the enums, the CHECK constraints built from them, the codes."""

from __future__ import annotations

from enum import StrEnum

import pytest
from fastapi import FastAPI
from sqlalchemy import CheckConstraint, Table

from gatehouse.auth.models import OneTimeToken, TokenPurpose
from gatehouse.core.db import StrEnumType, one_of
from gatehouse.core.errors import GENERIC_ERRORS, HTTP_CODES
from gatehouse.models import Base
from gatehouse.sessions.models import AuthSession, SessionKind
from gatehouse.tasks.models import Priority, Task
from gatehouse.users.emails import normalize_email
from gatehouse.users.models import Role, User


@pytest.mark.parametrize(
    ("table", "column", "vocabulary"),
    [
        (User.__table__, "role", Role),
        (Task.__table__, "priority", Priority),
        (AuthSession.__table__, "kind", SessionKind),
        (OneTimeToken.__table__, "purpose", TokenPurpose),
    ],
)
def test_each_vocabulary_column_is_checked_by_a_constraint_built_from_its_enum(
    table: Table, column: str, vocabulary: type[StrEnum]
) -> None:
    checks = {
        str(constraint.sqltext)
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    assert one_of(column, vocabulary) in checks
    column_type = table.c[column].type
    assert isinstance(column_type, StrEnumType)
    assert column_type.enum is vocabulary


def test_every_enum_column_of_every_table_has_its_check() -> None:
    for table in Base.metadata.tables.values():
        checks = {str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)}
        for column in table.columns:
            if isinstance(column.type, StrEnumType):
                assert one_of(column.name, column.type.enum) in checks, (table.name, column.name)


def test_the_check_clause_reads_like_the_migrations() -> None:
    assert one_of("role", Role) == "role IN ('user', 'admin')"
    assert one_of("priority", Priority) == "priority IN ('low', 'medium', 'high')"


def test_emails_have_one_normal_form() -> None:
    assert normalize_email("  Ann@Example.ORG \n") == "ann@example.org"


def test_the_status_code_table_has_one_code_per_status() -> None:
    assert len(HTTP_CODES) == len(GENERIC_ERRORS)
    assert HTTP_CODES[404] == "NOT_FOUND"
    assert HTTP_CODES[422] == "VALIDATION_ERROR"
    assert HTTP_CODES[429] == "RATE_LIMITED"


def test_documented_error_codes_are_the_raised_ones(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    update_me = paths["/api/v1/users/me"]["patch"]["responses"]
    assert "EMAIL_ALREADY_REGISTERED" in update_me["409"]["description"]
    assert "INVALID_PASSWORD" in update_me["400"]["description"]
    login = paths["/api/v1/auth/login"]["post"]["responses"]
    assert "INVALID_CREDENTIALS" in login["401"]["description"]
    assert "ACCOUNT_DISABLED" in login["403"]["description"]
    logout = paths["/api/v1/auth/logout"]["post"]["responses"]
    assert "RATE_LIMITED" in logout["429"]["description"]


def test_every_operation_documents_the_input_guard_and_json_error_bodies(app: FastAPI) -> None:
    """The guard answers 413 and 422 on any route before it runs; an error body is always the
    JSON envelope, also where success is Prometheus text (found by tests/test_schema_fuzz.py:
    seven routes published FastAPI's `{"detail": ...}` 422, and no route had 413)."""
    paths = app.openapi()["paths"]
    for item in paths.values():
        for operation in item.values():
            responses = operation["responses"]
            for status in ("413", "422"):
                content = responses[status]["content"]
                assert content == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
                }
    assert "HTTPValidationError" not in app.openapi()["components"]["schemas"]
    metrics_404 = paths["/metrics"]["get"]["responses"]["404"]["content"]
    assert list(metrics_404) == ["application/json"]
