"""JSON Schema for event types: the schema itself checked on write, payloads on publish.

On write, a schema must be valid Draft 2020-12 and keep Herald's rules
(``app.event_types.schema_rules``: bounded, self-contained, RE2 patterns).

On publish, payloads are checked by ``app.event_types.validator`` (nothing fetched, RE2,
a deadline on every keyword) on a few threads, never on the event loop: a payload that
takes longer than ``TIME_BUDGET_S`` is refused with 422 ``schema_too_expensive`` while
the API goes on answering. A validator is compiled once per version of an event type and
kept in a small LRU keyed by ``(event type id, updated_at)``: a PATCH of the schema bumps
``updated_at`` and the next publish compiles the new one. A stored schema that breaks the
rules (saved before they existed) refuses every payload with 422 ``schema_invalid``.
"""

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.lists import PerDialect
from app.db.models import EventType
from app.errors import ValidationFailed
from app.event_types.schema_rules import problems
from app.event_types.validator import TooExpensive, payload_validator, validate_within
from app.patterns import PatternError

MAX_REPORTED_ERRORS = 10
CACHE_SIZE = 512
# The longest one payload's validation may take. Ordinary payloads take well under a
# millisecond; this bounds the hostile ones (an exponential schema) and a thread's share.
TIME_BUDGET_S = 1.0
VALIDATION_THREADS = 4

CacheKey = tuple[str, datetime]  # (event type id, updated_at): one version of a schema
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Unusable:
    """A stored schema that breaks Herald's rules: every payload is refused with this."""

    reason: str


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of an event type's schema, compiled (``None``: it has no schema)."""

    key: CacheKey
    validator: Any | Unusable | None


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise ``ValidationFailed`` (field ``schema``) unless ``schema`` is valid Draft 2020-12
    and keeps Herald's rules; the message names where the first fault is."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = _pointer(exc.absolute_path, root="schema")
        raise ValidationFailed.field(
            "schema", f"not a valid JSON Schema (draft 2020-12) at {where}: {exc.message}"
        ) from None
    found = problems(schema)
    if found:
        where, message = found[0]
        raise ValidationFailed.field("schema", f"{where}: {message}")


class LruCache(Generic[K, V]):
    """A bounded, thread-safe LRU."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


compiled: LruCache[CacheKey, SchemaVersion] = LruCache()
# The version of each ``(project id, event type name)`` this process saw last: publishing
# checks a payload against it before the shared batch (``app.messages.publish``).
latest: LruCache[tuple[str, str], SchemaVersion] = LruCache()
_pool: ThreadPoolExecutor | None = None


async def validate_payload(
    session: AsyncSession, project_id: str, event_type_name: str, payload: object
) -> None:
    """Check ``payload`` against the schema of the project's event type ``event_type_name``.

    Returns when the event type is unknown or has no schema, or when the payload conforms.
    Raises ``ValidationFailed``: code ``payload_invalid`` whose ``fields`` map paths in the
    payload (``payload/items/0/amount``) to messages, at most ``MAX_REPORTED_ERRORS``;
    ``schema_too_expensive`` past the time budget; ``schema_invalid`` for a stored schema
    that breaks the rules.
    """
    key = (project_id, event_type_name)
    await check_payload((await versions_of(session, [key]))[key], event_type_name, payload)


# Built once (``app.db.lists``); it matches every asked-for project with every asked-for
# name, a superset of the pairs (usually one project), which the caller narrows.
_VERSIONS = PerDialect(
    lambda member: select(
        EventType.project_id, EventType.name, EventType.id, EventType.updated_at
    ).where(member(EventType.project_id, "b_projects"), member(EventType.name, "b_names"))
)


async def versions_of(
    session: AsyncSession, event_types: Collection[tuple[str, str]]
) -> dict[tuple[str, str], SchemaVersion | None]:
    """The current schema version of each ``(project id, event type name)``: ``None`` for
    an unknown event type. One query, plus one per schema not yet compiled."""
    found: dict[tuple[str, str], SchemaVersion | None] = dict.fromkeys(event_types)
    if not event_types:
        return found
    rows = await session.execute(
        _VERSIONS.on(session),
        {
            "b_projects": list({project_id for project_id, _ in event_types}),
            "b_names": list({name for _, name in event_types}),
        },
    )
    for row in rows:
        pair = (row.project_id, row.name)
        if pair not in found:
            continue  # a name asked for in another of the batch's projects
        key: CacheKey = (row.id, row.updated_at)
        version = compiled.get(key)
        if version is None:
            schema = await session.scalar(select(EventType.schema).where(EventType.id == row.id))
            version = SchemaVersion(key, _compile(schema))
            compiled.put(key, version)
        found[pair] = version
        latest.put(pair, version)
    return found


def _compile(schema: Mapping[str, Any] | None) -> Any | Unusable | None:
    if schema is None:
        return None
    try:
        check_schema(schema)
    except ValidationFailed as exc:
        return Unusable(next(iter((exc.fields or {}).values()), exc.detail))
    return payload_validator(schema)


async def check_payload(
    version: SchemaVersion | None, event_type_name: str, payload: object
) -> None:
    """Raise ``ValidationFailed`` unless ``payload`` passes ``version`` (``None``, or a
    version without a schema, passes everything); see ``validate_payload``. The check runs
    on a thread, so the event loop goes on meanwhile."""
    if version is None or version.validator is None:
        return
    if isinstance(version.validator, Unusable):
        raise ValidationFailed(
            f"the schema of event type {event_type_name!r} cannot be used: "
            f"{version.validator.reason}; correct it with PATCH",
            code="schema_invalid",
            fields={"payload": "the event type's schema cannot be used"},
        )
    check = partial(_check, version.validator, event_type_name, payload)
    await asyncio.get_running_loop().run_in_executor(_threads(), check)


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(VALIDATION_THREADS, thread_name_prefix="herald-schema")
    return _pool


def _check(validator: Any, event_type_name: str, payload: object) -> None:
    try:
        errors = validate_within(validator, payload, TIME_BUDGET_S, MAX_REPORTED_ERRORS * 10)
    except TooExpensive:
        raise ValidationFailed(
            f"validating the payload against the schema of event type {event_type_name!r} "
            f"took longer than {TIME_BUDGET_S:g} s; simplify the schema",
            code="schema_too_expensive",
            fields={"payload": f"validation exceeded its {TIME_BUDGET_S:g} s budget"},
        ) from None
    except RecursionError:
        raise ValidationFailed(
            "the payload nests too deeply to be validated",
            code="payload_invalid",
            fields={"payload": "nests too deeply to be validated"},
        ) from None
    except (Unresolvable, PatternError):
        raise ValidationFailed(
            f"the schema of event type {event_type_name!r} cannot be used; correct it",
            code="schema_invalid",
            fields={"payload": "the event type's schema cannot be used"},
        ) from None
    if not errors:
        return
    errors.sort(key=lambda e: [_order(part) for part in e.absolute_path])
    fields: dict[str, str] = {}
    for error in errors:
        if len(fields) >= MAX_REPORTED_ERRORS:
            break
        fields.setdefault(_pointer(error.absolute_path, root="payload"), error.message)
    raise ValidationFailed(
        f"the payload does not match the schema of event type {event_type_name!r}",
        code="payload_invalid",
        fields=fields,
    )


def _order(part: str | int) -> tuple[int, int, str]:
    """Sorts paths by index in arrays and by name in objects, never comparing the two."""
    return (0, part, "") if isinstance(part, int) else (1, 0, part)


def _pointer(path: Iterable[str | int], root: str) -> str:
    """``root/a/0/b``: where in the document an error is."""
    return "/".join([root, *(str(part) for part in path)])
