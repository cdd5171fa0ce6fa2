"""Fibonacci numbers, exact, in O(log n) arithmetic steps by fast doubling (no recursion)."""

from __future__ import annotations


def fibonacci(n: int) -> int:
    """F(n) with F(0) = 0 and F(1) = 1.

    Fast doubling: F(2k) = F(k)*(2*F(k+1) - F(k)) and F(2k+1) = F(k)^2 + F(k+1)^2, walking
    the bits of n from the top, so big n needs no recursion and O(log n) steps.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError("n must not be negative")
    a, b = 0, 1  # F(k), F(k+1) for k = the bits of n read so far
    for bit in bin(n)[2:]:
        a, b = a * (2 * b - a), a * a + b * b
        if bit == "1":
            a, b = b, a + b
    return a
