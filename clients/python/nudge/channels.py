"""A Channels layer that publishes ``group_send`` to a nudge hub.

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "nudge.channels.NudgeChannelLayer",
            "CONFIG": {"url": "http://127.0.0.1:8080", "api_key": "..."},
        },
    }

With it, the seed's backend code runs unchanged:

    async_to_sync(channel_layer.group_send)(
        f"user_{user_id}",
        {"type": "push.event", "event": event_type, "metadata": metadata or {}},
    )

publishes event ``event_type`` with ``metadata`` as its argument to the hub room
``user_<id>`` (the group name is the room name). The message's ``event`` (or
``event_type``) names the event and ``metadata`` (or ``data``) is its argument;
``type``, the consumer handler Channels would call, is not needed by the hub and
is ignored. Any other key is an error rather than silently dropped.

The layer only publishes: browsers connect to the hub, not to Channels
consumers, so receiving and group membership raise ``NudgeUnsupportedError``.
A project that still runs its own consumers keeps its usual layer as "default"
and configures this one under another alias for ``get_channel_layer(alias)``.
CONFIG takes the ``Nudge`` arguments (``url``, ``api_key``, ``timeout``,
``retry_budget``, ``retries``, ...); ``url`` and ``api_key`` fall back to the
``NUDGE_URL`` and ``NUDGE_API_KEY`` settings, then to the environment.

With ``"durable": True`` in CONFIG (default: the ``NUDGE_DURABLE`` setting), ``group_send``
writes the event to nudge's outbox in the caller's database transaction instead of
publishing it (``nudge.django.outbox``; a relay publishes it after the commit). Called through
``async_to_sync`` from a view, as the seed's ``utils/realtime.py`` does, the row is written by
the calling thread, on its connection, inside its ``transaction.atomic()``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any, NoReturn

from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from .client import Nudge, _event_body
from .django import is_durable, outbox
from .errors import NudgeUnsupportedError, NudgeValidationError

__all__ = ["NudgeChannelLayer", "message_to_event"]

_EVENT_KEYS = ("event", "event_type")
_DATA_KEYS = ("metadata", "data")
_KNOWN_KEYS = frozenset(("type",) + _EVENT_KEYS + _DATA_KEYS)


def _one_of(message: Mapping[str, Any], keys: tuple[str, str]) -> Any:
    present = [key for key in keys if key in message]
    if len(present) > 1:
        raise NudgeValidationError(f"group_send message has both {present[0]!r} and {present[1]!r}")
    return message[present[0]] if present else None


def message_to_event(message: Mapping[str, Any]) -> tuple[str, Any]:
    """The (event name, data) a group_send message stands for."""
    if not isinstance(message, Mapping):
        raise NudgeValidationError(
            f"group_send message must be a dict, got {type(message).__name__}")
    unknown = sorted(set(message) - _KNOWN_KEYS)
    if unknown:
        raise NudgeValidationError(
            f"group_send message has key(s) {unknown} that nudge cannot send; "
            "use 'event' (the event name) and 'metadata' (its argument)")
    event = _one_of(message, _EVENT_KEYS)
    if event is None:
        raise NudgeValidationError(
            "group_send message needs an 'event' key with the event name, e.g. "
            "{'type': 'push.event', 'event': 'balance_updated', 'metadata': {}}")
    return event, _one_of(message, _DATA_KEYS)


class NudgeChannelLayer(BaseChannelLayer):
    """Publish-only channel layer: ``group_send(group, message)`` emits to room ``group``."""

    extensions = ["groups", "flush"]

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 expiry: int = 60, capacity: int = 100,
                 channel_capacity: Mapping[str, int] | None = None,
                 durable: bool | None = None, using: str | None = None,
                 **options: Any) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.durable = durable
        self.using = using
        options.setdefault("json_encoder", DjangoJSONEncoder)
        self.client = Nudge(url or getattr(settings, "NUDGE_URL", None),
                            api_key or getattr(settings, "NUDGE_API_KEY", None), **options)

    async def group_send(self, group: str, message: Mapping[str, Any]) -> None:
        """Publishes the message's event to room ``group``; raises a NudgeError if
        the hub does not accept it. The HTTP request runs in a worker thread, so
        the event loop keeps serving while it is in flight."""
        self.valid_group_name(group)
        event, data = message_to_event(message)
        if is_durable(self.durable):
            # thread_sensitive: under async_to_sync this runs in the calling thread, on its
            # database connection, so the row joins the caller's transaction.
            await sync_to_async(outbox.write, thread_sensitive=True)(
                self.client, _event_body(group, event, data, None), self.using)
            return
        body = self.client._encode_emit(group, event, data, None)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, functools.partial(self.client._post, body))

    async def flush(self) -> None:
        """Nothing is buffered: every group_send has reached the hub when it returns."""

    async def close(self) -> None:
        self.client.close()

    async def send(self, channel: str, message: Mapping[str, Any]) -> NoReturn:
        _unsupported("send() to a single channel")

    async def receive(self, channel: str) -> NoReturn:
        _unsupported("receive()")

    async def new_channel(self, prefix: str = "specific.") -> NoReturn:
        _unsupported("new_channel() (a Channels consumer is using this layer)")

    async def group_add(self, group: str, channel: str) -> NoReturn:
        _unsupported("group_add()")

    async def group_discard(self, group: str, channel: str) -> NoReturn:
        _unsupported("group_discard()")


def _unsupported(what: str) -> NoReturn:
    raise NudgeUnsupportedError(
        f"NudgeChannelLayer cannot do {what}: it only publishes group_send() to the nudge "
        "hub. Browsers connect to the hub, which puts each socket in its user_<id> room "
        "from the JWT. If you also run Channels consumers, give them another layer and "
        "configure nudge under a separate alias (get_channel_layer('nudge')).")
