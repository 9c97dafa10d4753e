"""nudge: publish "invalidate" events to a nudge hub from Python.

    import nudge
    nudge.emit_event(user_id=42, event="balance_updated")   # NUDGE_URL, NUDGE_API_KEY

or with an explicit client:

    client = nudge.Nudge("http://127.0.0.1:8080", api_key="...")
    client.emit(["user_1", "user_2"], "loan_status_changed", {"loanId": 7})

Standard library only. ``nudge.django`` defers emits to the end of the database
transaction; ``nudge.channels`` is a Channels layer for code that already calls
``channel_layer.group_send``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .client import DEFAULT_URL, Nudge, validate_event_name
from .errors import (NudgeAuthError, NudgeConnectionError, NudgeError, NudgeHTTPError,
                     NudgeRequestError, NudgeServerError, NudgeTimeoutError,
                     NudgeUnsupportedError, NudgeValidationError)

__all__ = [
    "DEFAULT_URL", "Nudge", "NudgeAuthError", "NudgeConnectionError", "NudgeError",
    "NudgeHTTPError", "NudgeRequestError", "NudgeServerError", "NudgeTimeoutError",
    "NudgeUnsupportedError", "NudgeValidationError", "configure", "default_client", "emit",
    "emit_event", "emit_many", "validate_event_name",
]
__version__ = "0.1.0"

_default: Nudge | None = None
_default_lock = threading.Lock()


def configure(url: str | None = None, api_key: str | None = None, **options: Any) -> Nudge:
    """Replaces the client behind the module-level functions; same arguments as ``Nudge``."""
    global _default
    client = Nudge(url, api_key, **options)
    with _default_lock:
        previous, _default = _default, client
    if previous is not None:
        previous.close()
    return client


def default_client() -> Nudge:
    """The client set by ``configure``, else one built from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Nudge()
        return _default


def emit(rooms: str | Iterable[str], event: str, data: Any = None,
         except_: str | Iterable[str] | None = None, *, version: str | int | None = None,
         spread: int | None = None) -> int:
    """``Nudge.emit`` on the default client."""
    return default_client().emit(rooms, event, data, except_, version=version, spread=spread)


def emit_event(user_id: object, event: str, metadata: Any = None, *,
               version: str | int | None = None, spread: int | None = None) -> int:
    """``Nudge.emit_event`` on the default client."""
    return default_client().emit_event(user_id, event, metadata, version=version, spread=spread)


def emit_many(events: Iterable[Mapping[str, Any]]) -> int:
    """``Nudge.emit_many`` on the default client."""
    return default_client().emit_many(events)
