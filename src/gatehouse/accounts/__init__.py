"""The accounts of a Gatehouse database, from Python: the service's own use cases in
process, under the same password policy, login throttle and audit trail as the HTTP API.

    from gatehouse.accounts import Accounts

    async with Accounts.open() as accounts:          # the configured database (.env)
        user = await accounts.register_user("ada@example.com", "a long passphrase")
        if await accounts.valid_login("ada@example.com", "a long passphrase"):
            session_id = await accounts.create_session("ada@example.com")

`SyncAccounts` is the same without `await`, for scripts and notebooks. It sits above the
domains, beside `main.py` (docs/architecture.md); docs/python-api.md maps the names of the
original exercise's `DB` and `Auth` to Gatehouse's concepts.
"""

from gatehouse.accounts.errors import (
    AccountExists,
    AccountNotFound,
    InvalidField,
    InvalidFilter,
    InvalidInput,
    ResetTokenInvalid,
    SchemaOutOfDate,
)
from gatehouse.accounts.facade import Accounts
from gatehouse.accounts.sync import SyncAccounts
from gatehouse.auth.exceptions import AccountDisabled, InvalidCredentials
from gatehouse.core.errors import AppError, RateLimited
from gatehouse.users.exceptions import LastAdmin, PasswordRejected
from gatehouse.users.models import Role
from gatehouse.users.schemas import UserRead

__all__ = [
    "AccountDisabled",
    "AccountExists",
    "AccountNotFound",
    "Accounts",
    "AppError",
    "InvalidCredentials",
    "InvalidField",
    "InvalidFilter",
    "InvalidInput",
    "LastAdmin",
    "PasswordRejected",
    "RateLimited",
    "ResetTokenInvalid",
    "Role",
    "SchemaOutOfDate",
    "SyncAccounts",
    "UserRead",
]
