"""Regular expressions that users write, matched in linear time (RE2).

Every pattern that comes from outside Herald (a JSON Schema's ``pattern`` or
``patternProperties``, a payload filter's ``$regex``) is compiled here and never by
Python's ``re``: RE2 matches in time linear in the input whatever the pattern, so
``^(a+)+$`` against 40 × "a" + "!" costs microseconds, not minutes. What RE2 cannot do in
linear time (back-references, look-around) it refuses to compile: ``PatternError``, which
callers turn into a 422 naming the pattern.
"""

from functools import lru_cache

import re2

# The memory one compiled pattern may take; RE2 refuses larger programs at compile time.
MAX_PATTERN_MEMORY_BYTES = 8 << 20
MAX_PATTERN_LENGTH = 1_000
_CACHED_PATTERNS = 1_024


class PatternError(ValueError):
    """The pattern is not one RE2 can run: its message says why."""


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY_BYTES
    options.log_errors = False  # the caller reports the error; RE2 would print it to stderr
    return options


_OPTIONS = _options()


@lru_cache(maxsize=_CACHED_PATTERNS)
def compile_pattern(pattern: str) -> re2._Regexp:
    """``pattern`` compiled by RE2 (cached); ``PatternError`` if RE2 refuses it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise PatternError(_reason(exc)) from None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text`` (JSON Schema's and ECMA's sense)."""
    return compile_pattern(pattern).search(text) is not None


def _reason(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return f"{detail} (patterns run on RE2, in linear time: no back-references or look-around)"
