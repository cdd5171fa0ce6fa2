"""One way to page every list: the query parameters, the `Page[T]` shape, one COUNT."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageParams:
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_params(
    page: Annotated[int, Query(ge=1, description="Page number, from 1")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    """A page as services return it: the rows and the total over the whole filter."""

    items: Sequence[T]
    total: int
    params: PageParams


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int

    @classmethod
    def of(cls, result: PageResult[Any], items: list[T]) -> Page[T]:
        size = result.params.page_size
        return cls(
            items=items,
            total=result.total,
            page=result.params.page,
            page_size=size,
            pages=math.ceil(result.total / size) if result.total else 0,
        )


def escape_like(text: str) -> str:
    """`text` for a LIKE pattern with `%`, `_` and the escape character taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(text: str) -> str:
    return f"%{escape_like(text)}%"


async def paginate(
    db: AsyncSession, statement: Select[Any], params: PageParams, *, total: int | None = None
) -> PageResult[Any]:
    """Run one page of an ordered, filtered SELECT and one COUNT over the same filter, or
    none when the caller knows the `total` already (a kept counter)."""
    if total is None:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int(await db.scalar(counted) or 0)
    if total == 0 or params.offset >= total:
        return PageResult(items=[], total=total, params=params)
    rows = await db.scalars(statement.limit(params.page_size).offset(params.offset))
    return PageResult(items=list(rows), total=total, params=params)
