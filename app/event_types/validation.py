"""JSON Schema for event types: the schema itself checked on write, payloads on publish.

Publishing is the hot path, so a validator is compiled once per version of an event type
and kept in a small LRU keyed by ``(event type id, updated_at)``: a PATCH of the schema
bumps ``updated_at`` and the next publish compiles the new one.
"""

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.lists import PerDialect
from app.db.models import EventType
from app.errors import ValidationFailed

MAX_REPORTED_ERRORS = 10
CACHE_SIZE = 512

CacheKey = tuple[str, datetime]


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise ``ValidationFailed`` (field ``schema``) unless ``schema`` is valid Draft 2020-12."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = _pointer(exc.absolute_path, root="schema")
        raise ValidationFailed.field(
            "schema", f"not a valid JSON Schema (draft 2020-12) at {where}: {exc.message}"
        ) from None


class ValidatorCache:
    """A bounded LRU of compiled validators; ``None`` caches "this version has no schema"."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[CacheKey, Draft202012Validator | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> tuple[bool, Draft202012Validator | None]:
        """``(found, validator)`` for ``key``."""
        with self._lock:
            if key not in self._entries:
                return False, None
            self._entries.move_to_end(key)
            return True, self._entries[key]

    def put(self, key: CacheKey, validator: Draft202012Validator | None) -> None:
        with self._lock:
            self._entries[key] = validator
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


validators = ValidatorCache()


async def validate_payload(
    session: AsyncSession, project_id: str, event_type_name: str, payload: object
) -> None:
    """Check ``payload`` against the schema of the project's event type ``event_type_name``.

    Returns when the event type is unknown or has no schema, or when the payload conforms.
    Raises ``ValidationFailed`` (code ``payload_invalid``) whose ``fields`` map paths in the
    payload (``payload/items/0/amount``) to messages, at most ``MAX_REPORTED_ERRORS``.
    """
    key = (project_id, event_type_name)
    check_payload((await validators_for(session, [key]))[key], event_type_name, payload)


# Built once (``app.db.lists``); it matches every asked-for project with every asked-for
# name, a superset of the pairs (usually one project), which the caller narrows.
_VERSIONS = PerDialect(
    lambda member: select(
        EventType.project_id, EventType.name, EventType.id, EventType.updated_at
    ).where(member(EventType.project_id, "b_projects"), member(EventType.name, "b_names"))
)


async def validators_for(
    session: AsyncSession, event_types: Collection[tuple[str, str]]
) -> dict[tuple[str, str], Draft202012Validator | None]:
    """The validator of each ``(project id, event type name)``: ``None`` for an unknown
    event type or one without a schema. One query, plus one per schema not yet compiled."""
    validators_by_type: dict[tuple[str, str], Draft202012Validator | None] = dict.fromkeys(
        event_types
    )
    if not event_types:
        return validators_by_type
    versions = await session.execute(
        _VERSIONS.on(session),
        {
            "b_projects": list({project_id for project_id, _ in event_types}),
            "b_names": list({name for _, name in event_types}),
        },
    )
    for version in versions:
        if (version.project_id, version.name) not in validators_by_type:
            continue  # a name asked for in another of the batch's projects
        key: CacheKey = (version.id, version.updated_at)
        found, validator = validators.get(key)
        if not found:
            schema = await session.scalar(
                select(EventType.schema).where(EventType.id == version.id)
            )
            validator = Draft202012Validator(schema) if schema is not None else None
            validators.put(key, validator)
        validators_by_type[(version.project_id, version.name)] = validator
    return validators_by_type


def check_payload(
    validator: Draft202012Validator | None, event_type_name: str, payload: object
) -> None:
    """Raise ``ValidationFailed`` unless ``payload`` passes ``validator`` (``None`` passes
    everything); see ``validate_payload``."""
    if validator is None:
        return
    try:
        errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    except Unresolvable as exc:
        raise ValidationFailed(
            f"the schema of event type {event_type_name!r} has an unresolvable $ref: {exc}",
            code="payload_invalid",
            fields={"payload": "the event type's schema cannot be resolved"},
        ) from None
    if not errors:
        return
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


def _pointer(path: Iterable[str | int], root: str) -> str:
    """``root/a/0/b``: where in the document an error is."""
    return "/".join([root, *(str(part) for part in path)])
