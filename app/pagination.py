"""Cursor pagination over time-sortable ids: newest first, ``iterator`` is the last id seen."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import ValidationFailed

T = TypeVar("T")
Out = TypeVar("Out")

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    iterator: str | None = None

    @classmethod
    def parse(cls, limit: int | None, iterator: str | None) -> "PageRequest":
        if limit is None:
            limit = DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed.field("limit", f"must be between 1 and {MAX_LIMIT}")
        return cls(limit=limit, iterator=iterator or None)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    iterator: str | None
    done: bool


class ListOut(msgspec.Struct, Generic[Out]):
    data: list[Out]
    iterator: str | None
    done: bool


async def paginate(
    session: AsyncSession,
    stmt: Select[T],
    id_column: InstrumentedAttribute[str],
    page: PageRequest,
    id_of: Callable[[T], str] = lambda row: row.id,  # type: ignore[attr-defined]
) -> Page[T]:
    """Run ``stmt`` for one page, newest first, resuming after ``page.iterator``."""
    if page.iterator is not None:
        stmt = stmt.where(id_column < page.iterator)
    rows = list(
        (await session.scalars(stmt.order_by(id_column.desc()).limit(page.limit + 1))).all()
    )
    done = len(rows) <= page.limit
    rows = rows[: page.limit]
    return Page(items=rows, iterator=id_of(rows[-1]) if rows and not done else None, done=done)


def list_out(page: Page[Any], to_out: Callable[[Any], Out]) -> ListOut[Out]:
    return ListOut(
        data=[to_out(item) for item in page.items], iterator=page.iterator, done=page.done
    )
