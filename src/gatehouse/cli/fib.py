"""`gatehouse fib`: the n-th Fibonacci number."""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def fib(n: Annotated[int, typer.Argument(min=0, help="Which Fibonacci number.")]) -> None:
    """Print the n-th Fibonacci number (exact)."""
    from gatehouse.devtools.fib import fibonacci

    sys.set_int_max_str_digits(0)  # F(n) for large n has more digits than the default limit
    print(fibonacci(n))
