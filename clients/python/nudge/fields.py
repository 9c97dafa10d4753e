"""The optional ``version`` and ``spread`` of an event, validated as the hub validates them.

``version`` is the event's position in the backend's database (issue 22: a refetch is never
older than its event): a Postgres LSN ``"0/16B3748"``, decimal digits up to 2**64 - 1, or an
int up to 2**53 - 1 (JSON numbers past that lose digits: pass the digits as a str).
``spread`` is the window in ms (0 to ``MAX_SPREAD_MS``) over which clients spread their
refetches (issue 23). A bad value raises ``NudgeValidationError`` naming the field, before
anything is sent, instead of a 400 from the hub.
"""

from __future__ import annotations

import re
from typing import Any, Union

from .errors import NudgeValidationError

__all__ = ["MAX_SPREAD_MS", "Version", "validate_spread", "validate_version", "add_fields"]

Version = Union[str, int]

MAX_SPREAD_MS = 60_000
_MAX_JSON_INT = 2**53 - 1
_MAX_VERSION = 2**64 - 1
_LSN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
_DECIMAL = re.compile(r"[0-9]{1,20}")


def validate_version(value: object) -> Version:
    """``value`` if the hub takes it as a ``version``, else NudgeValidationError."""
    if isinstance(value, bool):
        raise NudgeValidationError(f"version must be a str or an int, got bool: {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= _MAX_JSON_INT:
            raise NudgeValidationError(
                "version must be an int from 0 to 2**53 - 1 (pass str(version) for larger "
                f"ones, up to 2**64 - 1), got {value!r}")
        return value
    if isinstance(value, str):
        if _LSN.fullmatch(value) or (_DECIMAL.fullmatch(value) and int(value) <= _MAX_VERSION):
            return value
        raise NudgeValidationError(
            'version must be a Postgres LSN like "0/16B3748" or decimal digits up to '
            f"2**64 - 1, got {value!r}")
    raise NudgeValidationError(
        f"version must be a str or an int, got {type(value).__name__}: {value!r}")


def validate_spread(value: object) -> int:
    """``value`` if the hub takes it as a ``spread`` (ms), else NudgeValidationError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SPREAD_MS:
        raise NudgeValidationError(
            f"spread must be an int number of ms from 0 to {MAX_SPREAD_MS}, got {value!r}")
    return value


def add_fields(body: dict[str, Any], version: object = None, spread: object = None
               ) -> dict[str, Any]:
    """``body`` with ``version`` and ``spread`` added when given (not None), validated."""
    if version is not None:
        body["version"] = validate_version(version)
    if spread is not None:
        body["spread"] = validate_spread(spread)
    return body
