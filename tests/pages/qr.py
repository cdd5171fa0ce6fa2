"""Reading the QR code a page shows as inline SVG: its modules back into a matrix (from
the path segno draws), and that matrix decoded by a real QR decoder (zxing-cpp)."""

from __future__ import annotations

import re

import zxingcpp

QUIET_ZONE = 4  # modules of white around the symbol
PIXELS = 4  # per module, in the image the decoder reads


def svg_of(html: str) -> str:
    match = re.search(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert match, html
    return match.group(0)


def modules_of(svg: str) -> list[list[bool]]:
    """The dark modules of segno's SVG: one path of horizontal strokes (`M`/`m` moves, `h`
    lines) through the middle of each row, in module units, quiet zone included."""
    size = int(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    scale = int(re.search(r"scale\((\d+)\)", svg).group(1))  # type: ignore[union-attr]
    path = re.search(r'<path class="qrline"[^>]* d="([^"]+)"', svg)
    assert path, svg
    width = size // scale
    grid = [[False] * width for _ in range(width)]
    x = y = 0.0
    tokens = re.findall(r"[MmHh]|-?\d+(?:\.\d+)?", path.group(1))
    at = 0
    while at < len(tokens):
        command = tokens[at]
        if command in "Mm":
            dx, dy = float(tokens[at + 1]), float(tokens[at + 2])
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
            at += 3
        else:
            length = float(tokens[at + 1])
            end = x + length if command == "h" else length
            for column in range(int(min(x, end)), int(max(x, end))):
                grid[int(y)][column] = True
            x = end
            at += 2
    return grid


def without_quiet_zone(grid: list[list[bool]]) -> list[list[bool]]:
    return [row[QUIET_ZONE:-QUIET_ZONE] for row in grid[QUIET_ZONE:-QUIET_ZONE]]


def decode(grid: list[list[bool]]) -> list[str]:
    """The texts a QR decoder reads from an image of `grid` (quiet zone included)."""
    side = len(grid) * PIXELS
    image = bytearray([255]) * (side * side)
    for row, cells in enumerate(grid):
        for column, dark in enumerate(cells):
            if dark:
                for dy in range(PIXELS):
                    start = (row * PIXELS + dy) * side + column * PIXELS
                    image[start : start + PIXELS] = bytes(PIXELS)
    found = zxingcpp.read_barcodes(memoryview(image).cast("B", (side, side)))
    return [barcode.text for barcode in found]
