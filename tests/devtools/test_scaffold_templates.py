"""The scaffolder's templates are package data: each one loads, fills in and compiles."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from gatehouse.devtools.scaffold import PACKAGE_MODULES, render

VALUES = {
    "name": "notes",
    "Name": "Notes",
    "revision": "20260101000000_notes",
    "down_revision": "0001",
    "created": "2026-01-01T00:00:00+00:00",
    "uid": "0123abcd",
}


def _templates(folder: Traversable, prefix: str = "") -> list[str]:
    found: list[str] = []
    for entry in folder.iterdir():
        if entry.is_dir():
            found += _templates(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".tmpl"):
            found.append(prefix + entry.name)
    return found


def test_every_template_is_used_fills_in_and_compiles() -> None:
    names = _templates(files("gatehouse.devtools") / "templates" / "feature")
    assert sorted(names) == sorted(
        [
            *(f"package/{module}.tmpl" for module in PACKAGE_MODULES),
            "migration.py.tmpl",
            "tests/__init__.py.tmpl",
            "tests/test_feature.py.tmpl",
        ]
    )
    for name in names:
        text = render(name, VALUES)
        assert "${" not in text, name
        compile(text, name, "exec")


def test_the_package_mirrors_tasks() -> None:
    dependencies = render("package/dependencies.py.tmpl", VALUES)
    assert "OwnedNotes = Annotated[Notes, Depends(owned_notes)]" in dependencies
    exceptions = render("package/exceptions.py.tmpl", VALUES)
    assert "class NotesNotFound(AppError):" in exceptions
    service = render("package/service.py.tmpl", VALUES)
    assert service.count("await db.commit()") == 2  # once per use case, at its end
