"""The layering rule of docs/architecture.md, read from the imports of every module.

Domains form layers; a domain's service modules import only `core` and domains below it
(never one on the same level), so no two domain services import each other. Routers and
dependencies are the HTTP layer, above every service: they may use any domain's services,
guards and schemas, but never another domain's router. `core` imports no domain; the SDK
imports nothing from the server. Relative imports are not used (they would hide an edge).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import gatehouse
import gatehouse_client

# Lowest first. On top, unchecked: `cli` and the assembly modules (main, routers, models,
# migrate, __main__, and the `accounts` package, the in-process account API), which put the
# pieces together.
LAYERS: dict[str, int] = {
    "core": 0,
    "audit": 1,
    "mail": 1,
    "sessions": 2,
    "users": 3,
    "auth": 4,
    "tasks": 5,
    "chat": 6,
    "web": 7,
    "ops": 8,
    "devtools": 8,
}
TOP = 9  # `cli` and the assembly modules (`accounts` too): they may import anything
HTTP_MODULES = {"router", "dependencies"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (at any depth, TYPE_CHECKING blocks included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            # `from gatehouse.auth import service` imports gatehouse.auth.service
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _layer(module: str) -> int:
    """The layer of a `gatehouse.x...` module."""
    parts = module.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else TOP


def layering_violations(root: Path) -> list[str]:
    """`file:line: imports X` for every import that breaks the rule, under `root` (the
    `gatehouse` package directory)."""
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).with_suffix("")
        parts = relative.parts
        if len(parts) < 3 or parts[1] not in LAYERS:
            continue  # an assembly module: may import anything
        domain, own = parts[1], LAYERS[parts[1]]
        is_http = parts[-1] in HTTP_MODULES
        for line, target in _imports(path):
            if target.startswith("."):
                problems.append(f"{path.relative_to(root.parent)}:{line}: relative import")
                continue
            target_parts = target.split(".")
            if target_parts[0] != "gatehouse" or len(target_parts) < 2:
                continue
            other = target_parts[1]
            if other == domain or (other in LAYERS and LAYERS[other] < own):
                continue
            if is_http and other in LAYERS and target_parts[2:3] != ["router"]:
                continue
            problems.append(f"{path.relative_to(root.parent)}:{line}: imports {target}")
    return problems


def test_domains_import_only_layers_below_them() -> None:
    problems = layering_violations(Path(gatehouse.__file__).parent)
    assert problems == [], "imports that break docs/architecture.md:\n" + "\n".join(problems)


def test_core_imports_no_domain() -> None:
    core = Path(gatehouse.__file__).parent / "core"
    problems = [
        f"{path.name}:{line}: {target}"
        for path in core.rglob("*.py")
        for line, target in _imports(path)
        if target.startswith("gatehouse.") and _layer(target) != 0
    ]
    assert problems == []


ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "clients" / "python" / "src" / "gatehouse_client"
# What the SDK's base package may import besides the standard library and itself; the
# modules of its extras may import theirs too (see clients/python/pyproject.toml).
SDK_BASE_DEPENDENCIES = {"httpx", "pydantic"}
SDK_EXTRA_MODULES = {
    "verifier.py": {"jwt"},
    "fastapi.py": {"jwt", "fastapi"},
    "starlette.py": {"jwt", "starlette"},
}


def test_the_sdk_imports_nothing_from_the_server() -> None:
    sdk = Path(gatehouse_client.__file__).parent
    assert sdk == SDK  # the package the dev environment imports is the distribution's
    assert len(list(sdk.rglob("*.py"))) >= 5
    problems = [
        f"{path.name}:{line}: {target}"
        for path in sdk.rglob("*.py")
        for line, target in _imports(path)
        if target == "gatehouse" or target.startswith("gatehouse.")
    ]
    assert problems == []


def test_the_sdk_base_needs_only_httpx_and_pydantic() -> None:
    problems = []
    for path in SDK.rglob("*.py"):
        allowed = {
            "gatehouse_client",
            *SDK_BASE_DEPENDENCIES,
            *SDK_EXTRA_MODULES.get(path.name, ()),
        }
        for line, target in _imports(path):
            top = target.split(".")[0]
            if top not in sys.stdlib_module_names and top not in allowed:
                problems.append(f"{path.name}:{line}: {target}")
    assert problems == []
    # ... and the base package imports none of the extras' modules.
    base = SDK / "__init__.py"
    assert not any(
        t.split(".")[-1] in ("verifier", "fastapi", "starlette") for _, t in _imports(base)
    )


def test_the_rule_finds_a_cycle_between_services(tmp_path: Path) -> None:
    root = tmp_path / "gatehouse"
    for package in ("users", "auth"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "auth" / "service.py").write_text("from gatehouse.users import service\n")
    (root / "users" / "service.py").write_text(
        "from gatehouse.auth.exceptions import InvalidCredentials\n"
    )
    (root / "users" / "router.py").write_text(
        "from gatehouse.auth.dependencies import CurrentUser\n"
        "from gatehouse.auth.service import login\n"
        "from gatehouse.auth.router import router\n"
    )
    (root / "users" / "models.py").write_text("from ..auth import models\n")
    assert layering_violations(root) == [
        "gatehouse/users/models.py:1: relative import",
        "gatehouse/users/router.py:3: imports gatehouse.auth.router",
        "gatehouse/users/router.py:3: imports gatehouse.auth.router.router",
        "gatehouse/users/service.py:1: imports gatehouse.auth.exceptions",
        "gatehouse/users/service.py:1: imports gatehouse.auth.exceptions.InvalidCredentials",
    ]


def test_no_domain_may_import_the_account_api(tmp_path: Path) -> None:
    """`gatehouse.accounts` is on top, like main.py: the rule refuses it to any domain."""
    root = tmp_path / "gatehouse"
    (root / "web").mkdir(parents=True)
    (root / "web" / "router.py").write_text("from gatehouse.accounts import Accounts\n")
    assert layering_violations(root) == [
        "gatehouse/web/router.py:1: imports gatehouse.accounts",
        "gatehouse/web/router.py:1: imports gatehouse.accounts.Accounts",
    ]
