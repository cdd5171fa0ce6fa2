"""The README's screenshots: each one `scripts/screenshots.py` takes is in
docs/screenshots/ at 1280 px wide and shown in the README, and no stale one is left."""

from __future__ import annotations

import struct
from pathlib import Path

from scripts.screenshots import SHOTS, WIDTH

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE, path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_every_shot_is_taken_at_1280_px_and_shown_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [shot.name for shot in SHOTS]
    assert len(set(names)) == len(names)
    for name in names:
        path = FOLDER / f"{name}.png"
        assert path.is_file(), f"run scripts/screenshots.py: {path.name} is missing"
        width, height = png_size(path)
        assert width == WIDTH == 1280
        assert height <= 1000, "a window, not a whole long page"
        assert f"(docs/screenshots/{name}.png)" in readme
    assert sorted(p.stem for p in FOLDER.glob("*.png")) == sorted(names)
