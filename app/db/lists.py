"""Statements built once, with list parameters, that serve every batch size.

Built per call, a hot statement costs its construction in Python and, with ``IN (…)``
rendered for each list length, a fresh server-side prepare for each new length. Built
once with a bound list instead, SQLAlchemy compiles it once and asyncpg prepares it once
per connection. PostgreSQL takes the list as an array (``= ANY(:list)``: one text for
every length); SQLite, which has no arrays, as an expanding ``IN``.
"""

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

S = TypeVar("S")
Column = ColumnElement[Any] | QueryableAttribute[Any]
Member = Callable[[Column, str], ColumnElement[bool]]

_TEXT_ARRAY = ARRAY(String)


def any_of(column: Column, name: str) -> ColumnElement[bool]:
    """``column`` is one of the strings bound to ``name`` (PostgreSQL)."""
    return column == any_(bindparam(name, type_=_TEXT_ARRAY))


def one_of(column: Column, name: str) -> ColumnElement[bool]:
    """``column`` is one of the values bound to ``name`` (any dialect)."""
    return column.in_(bindparam(name, expanding=True))


class PerDialect(Generic[S]):
    """A statement ``build(member)`` built once for PostgreSQL and once for the others,
    ``member`` being the dialect's test of a column against a bound list."""

    def __init__(self, build: Callable[[Member], S]) -> None:
        self._postgresql = build(any_of)
        self._other = build(one_of)

    def on(self, session: AsyncSession) -> S:
        return self._postgresql if session.get_bind().dialect.name == "postgresql" else self._other
