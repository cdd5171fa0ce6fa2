"""Reading the QR code a page shows as inline SVG: its modules back into a matrix (from
the path segno draws), and that matrix, or a browser's screenshot of it, decoded by a
real QR decoder (zxing-cpp)."""

from __future__ import annotations

import re
import struct
import zlib

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
    return _read_barcodes(image, side, side)


def decode_png(png: bytes) -> list[str]:
    """The texts a QR decoder reads from a PNG screenshot (8-bit RGB or RGBA, as Chromium
    writes them), read here as grey levels."""
    return _read_barcodes(*_grey_pixels(png))


def _read_barcodes(image: bytearray, width: int, height: int) -> list[str]:
    found = zxingcpp.read_barcodes(memoryview(image).cast("B", (height, width)))
    return [barcode.text for barcode in found]


def _grey_pixels(png: bytes) -> tuple[bytearray, int, int]:
    """Decode a non-interlaced 8-bit RGB or RGBA PNG (PNG spec: chunks, zlib, the five
    row filters) into one grey byte a pixel."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks, header = 8, bytearray(), b""
    while at < len(png):
        length = struct.unpack(">I", png[at : at + 4])[0]
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0)
    assert colour in {2, 6}, colour  # RGB or RGBA
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(bytes(chunks))
    previous = bytearray(stride)
    grey = bytearray()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        grey += bytes(
            (line[x] + line[x + 1] + line[x + 2]) // 3 for x in range(0, stride, channels)
        )
        previous = line
    return grey, width, height


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    by_left, by_up, by_corner = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    if by_left <= by_up and by_left <= by_corner:
        return left
    return up if by_up <= by_corner else corner
