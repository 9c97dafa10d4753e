"""``Nudge``: the emitter that publishes events to a nudge hub's HTTP API.

One ``Nudge`` per hub and process is enough: it is thread-safe and keeps its
connections alive between calls. Each call blocks until the hub has accepted
the events (``202``) or raises a ``NudgeError`` naming the cause.

A request that failed on the network or with a 5xx is sent again, with
exponential backoff starting at the hub's ``Retry-After``, until a retry budget
(30 s by default) is spent: long enough to ride out a Redis broker that is
restarting or failing over (the hub answers ``503 broker_unavailable`` with
``Retry-After: 1`` meanwhile). Every event carries an ``id``
(a random one unless given), so a retry of a request the hub had in fact taken
is accepted but not delivered again: exactly once on the wire, within the hub's
``--idempotency-window``. 4xx answers are never retried: the same request would
be refused again.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import (NudgeAuthError, NudgeConnectionError, NudgeError, NudgeHTTPError,
                     NudgeRequestError, NudgeServerError, NudgeTimeoutError,
                     NudgeValidationError)
from .fields import add_fields
from .transport import Response, Transport

__all__ = ["Nudge", "DEFAULT_URL", "validate_event_name"]

DEFAULT_URL = "http://127.0.0.1:8080"
EMIT_PATH = "/api/v1/emit"
ROOMS_PATH = "/api/v1/rooms/"
USER_AGENT = "nudge-python/0.1"
# The hub's own defaults (--max-batch, --max-body); raise them here if the hub's are raised.
DEFAULT_MAX_BATCH = 1000
DEFAULT_MAX_BODY = 1 << 20
# A Retry-After longer than this is treated as this (a misconfigured proxy must not park us).
MAX_RETRY_AFTER = 60.0
# The default retry policy: waits start at the hub's Retry-After (else DEFAULT_BACKOFF), double,
# are capped at DEFAULT_MAX_BACKOFF and jittered by +-JITTER; retries stop once
# DEFAULT_RETRY_BUDGET seconds have passed since the first attempt.
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 8.0
DEFAULT_RETRY_BUDGET = 30.0
JITTER = 0.2
_EVENT_KEYS = frozenset({"room", "rooms", "event", "data", "except", "id", "version", "spread"})

# Indirections so tests can observe the backoff without waiting for it: a test that replaces
# ``_sleep`` also replaces ``_clock`` with one its sleeps advance (see tests/conftest.py).
_sleep = time.sleep
_clock = time.monotonic


def _jitter() -> float:
    """The factor a backoff wait is multiplied by (tests replace it to count exactly)."""
    return random.uniform(1.0 - JITTER, 1.0 + JITTER)


def validate_event_name(event: object) -> str:
    """Returns ``event`` if it is a non-empty string, else raises NudgeValidationError."""
    if not isinstance(event, str):
        raise NudgeValidationError(
            f"event name must be a str, got {type(event).__name__}: {event!r}")
    if not event:
        raise NudgeValidationError("event name must not be empty")
    return event


def _names(value: object, what: str) -> list[str]:
    """A room name or an iterable of them, as a non-empty list of non-empty strings."""
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise NudgeValidationError(
            f"{what} must be a str or a list of str, got {type(value).__name__}")
    names = list(value)
    if not names:
        raise NudgeValidationError(f"{what} must not be empty")
    for name in names:
        if not isinstance(name, str) or not name:
            raise NudgeValidationError(f"{what} must hold non-empty strings, got {name!r}")
    return names


def _event_body(rooms: object, event: object, data: Any, except_: object,
                event_id: object = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event": validate_event_name(event)}
    room_list = _names(rooms, "rooms")
    if len(room_list) == 1:
        body["room"] = room_list[0]
    else:
        body["rooms"] = room_list
    if except_ is not None:
        body["except"] = _names(except_, "except_")
    if data is not None:
        body["data"] = data
    if event_id is not None:
        if not isinstance(event_id, str) or not 0 < len(event_id.encode()) <= 256:
            raise NudgeValidationError(f"id must be a string of 1 to 256 bytes, got {event_id!r}")
        body["id"] = event_id
    return body


def _retry_after(response: Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Nudge:
    """Publishes events to a nudge hub (``POST /api/v1/emit``).

    ``url`` and ``api_key`` default to the environment variables ``NUDGE_URL``
    (else ``http://127.0.0.1:8080``) and ``NUDGE_API_KEY``. ``timeout`` bounds
    each attempt (connect, send, answer) in seconds. A failed attempt (network
    error, timeout, 5xx) is retried after ``start * 2**n`` seconds, where
    ``start`` is the hub's Retry-After (else ``backoff``), capped at
    ``max_backoff``, jittered by +-20 % and never sooner than the Retry-After,
    as long as ``retry_budget`` seconds have not passed since the first attempt
    (the last wait is shortened to end with the budget). ``retries``, if given,
    also bounds the number of retries (``retries=0``: a single attempt).
    ``max_batch`` and ``max_body`` must not exceed the hub's ``--max-batch`` and
    ``--max-body``; ``emit_many`` splits its events to fit both. ``user_room`` is
    the hub's ``--user-room`` template (also ``NUDGE_USER_ROOM``); ``emit_event``
    fills in the user id. ``json_encoder`` is a ``json.JSONEncoder`` subclass
    for data that the standard one cannot encode.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 5.0,
        retries: int | None = None,
        backoff: float = DEFAULT_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_body: int = DEFAULT_MAX_BODY,
        user_room: str | None = None,
        json_encoder: type[json.JSONEncoder] | None = None,
        idempotent: bool = True,
    ) -> None:
        self.url = (url or os.environ.get("NUDGE_URL") or DEFAULT_URL).rstrip("/")
        api_key = api_key if api_key is not None else os.environ.get("NUDGE_API_KEY")
        if not api_key:
            raise NudgeValidationError(
                "no API key: pass api_key=... or set NUDGE_API_KEY (the hub's --api-key)")
        if not timeout or timeout <= 0:
            raise NudgeValidationError(f"timeout must be > 0 seconds, got {timeout!r}")
        if (retries is not None and retries < 0) or backoff < 0 or max_backoff < 0 \
                or retry_budget < 0:
            raise NudgeValidationError(
                "retries, backoff, max_backoff and retry_budget must be >= 0")
        if max_batch < 1 or max_body < 64:
            raise NudgeValidationError("max_batch must be >= 1 and max_body >= 64")
        self.user_room = user_room or os.environ.get("NUDGE_USER_ROOM") or "user_{id}"
        if "{id}" not in self.user_room:
            raise NudgeValidationError(
                f"user_room must contain {{id}}, got {self.user_room!r}")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_budget = retry_budget
        self.max_batch = max_batch
        self.max_body = max_body
        self._encoder = json_encoder
        self.idempotent = idempotent
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._transport = Transport(self.url, timeout)

    def __repr__(self) -> str:
        return f"Nudge(url={self.url!r})"  # never the API key

    def __enter__(self) -> Nudge:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes idle connections. The client stays usable (it reconnects)."""
        self._transport.close()

    def room_for(self, user_id: object) -> str:
        """The room every socket of ``user_id`` is in (``user_<id>`` by default)."""
        if user_id is None or user_id == "":
            raise NudgeValidationError("user_id must not be empty")
        return self.user_room.replace("{id}", str(user_id))

    def emit(self, rooms: str | Iterable[str], event: str, data: Any = None,
             except_: str | Iterable[str] | None = None, *, version: str | int | None = None,
             spread: int | None = None) -> int:
        """Sends ``event`` (with ``data`` as the handler's argument) to every socket
        in ``rooms`` except those in the rooms ``except_``. Returns the number of
        events the hub accepted (1). ``version`` (the event's position in the
        database) and ``spread`` (ms) are described in ``nudge.fields``."""
        return self._post(self._encode_emit(rooms, event, data, except_, version, spread))

    def emit_event(self, user_id: object, event: str, metadata: Any = None, *,
                   version: str | int | None = None, spread: int | None = None) -> int:
        """The seed's ``emit_event``: ``event`` to every socket of ``user_id``, with
        ``metadata or {}`` as the argument."""
        return self.emit(self.room_for(user_id), event, metadata or {}, version=version,
                         spread=spread)

    def emit_many(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Sends events given as the hub's JSON objects (``{"room"|"rooms", "event",
        "data", "except", "id", "version", "spread"}``) in as few requests as the batch and body limits
        allow, in order. Returns how many the hub accepted.

        On a failure, the error's ``accepted`` says how many events (the first
        ones) had been accepted before it; the rest were not sent.
        """
        encoded = [self._encode(self._batch_item(i, event)) for i, event in enumerate(events)]
        accepted = 0
        for chunk in self._chunks(encoded):
            try:
                accepted += self._post(b'{"events":[' + b",".join(chunk) + b"]}")
            except NudgeError as error:
                error.accepted = accepted
                raise
        return accepted

    def sockets_join(self, rooms: str | Iterable[str], join: str | Iterable[str],
                     except_: str | Iterable[str] | None = None) -> None:
        """Socket.IO's ``io.in_(rooms).socketsJoin(join)``: every socket in ``rooms``
        (and in none of ``except_``), on every hub, joins the rooms ``join``. Returns
        once the hub accepted it; events emitted afterwards reach those sockets. A
        socket that reconnects loses the rooms unless its token grants them or the
        hub runs with ``--granted-rooms-ttl``."""
        self._room_op("join", rooms, except_, join)

    def sockets_leave(self, rooms: str | Iterable[str], leave: str | Iterable[str],
                      except_: str | Iterable[str] | None = None) -> None:
        """Socket.IO's ``socketsLeave``: the sockets in ``rooms`` leave ``leave``."""
        self._room_op("leave", rooms, except_, leave)

    def disconnect_sockets(self, rooms: str | Iterable[str],
                           except_: str | Iterable[str] | None = None) -> None:
        """Socket.IO's ``disconnectSockets``: the sockets in ``rooms`` are disconnected
        and do not reconnect by themselves. ``disconnect_sockets(client.room_for(42))``
        logs user 42 out everywhere."""
        self._room_op("disconnect", rooms, except_, None)

    def _room_op(self, kind: str, rooms: object, except_: object, targets: object) -> None:
        selected = _names(rooms, "rooms")
        body: dict[str, Any] = ({"room": selected[0]} if len(selected) == 1
                                else {"rooms": selected})
        if except_ is not None:
            body["except"] = _names(except_, "except_")
        if kind != "disconnect":
            body[kind] = _names(targets, kind)
        self._post(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                   ROOMS_PATH + kind)

    @staticmethod
    def _batch_item(index: int, event: object) -> dict[str, Any]:
        if not isinstance(event, Mapping):
            raise NudgeValidationError(
                f"events[{index}] must be a dict, got {type(event).__name__}")
        unknown = sorted(set(event) - _EVENT_KEYS)
        if unknown:
            raise NudgeValidationError(
                f"events[{index}]: unknown key(s) {unknown}; use room/rooms, event, data, "
                "except, id, version, spread")
        if ("room" in event) == ("rooms" in event):
            raise NudgeValidationError(f"events[{index}]: give exactly one of room or rooms")
        try:
            return add_fields(
                _event_body(event.get("room", event.get("rooms")), event.get("event"),
                            event.get("data"), event.get("except"), event.get("id")),
                event.get("version"), event.get("spread"))
        except NudgeValidationError as error:
            # ``events[2].version ...``: a field named as the hub names it in a batch.
            text = str(error)
            if text.startswith(("version ", "spread ")):
                raise NudgeValidationError(f"events[{index}].{text}") from None
            raise NudgeValidationError(f"events[{index}]: {text}") from None

    def _chunks(self, encoded: list[bytes]) -> Iterable[list[bytes]]:
        envelope = len(b'{"events":[]}')
        chunk: list[bytes] = []
        size = envelope
        for item in encoded:
            # An event too big on its own still goes alone: the hub's 413 then names the limit.
            if chunk and (len(chunk) == self.max_batch or size + 1 + len(item) > self.max_body):
                yield chunk
                chunk, size = [], envelope
            size += len(item) + (1 if chunk else 0)
            chunk.append(item)
        if chunk:
            yield chunk

    def _encode_emit(self, rooms: object, event: object, data: Any, except_: object,
                     version: object = None, spread: object = None) -> bytes:
        """Validates and encodes one event now; ``_post`` can send it later."""
        return self._encode(add_fields(_event_body(rooms, event, data, except_), version, spread))

    def _encode(self, body: dict[str, Any]) -> bytes:
        # The id is fixed here, before the first attempt, so every retry carries the same one.
        if self.idempotent and "id" not in body:
            body["id"] = uuid.uuid4().hex
        return self._dumps(body)

    def _dumps(self, body: dict[str, Any]) -> bytes:
        """The event's JSON as sent (UTF-8), with this client's encoder; no id is added."""
        try:
            text = json.dumps(body, cls=self._encoder, ensure_ascii=False, allow_nan=False,
                              separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise NudgeValidationError(
                f"data of event {body['event']!r} cannot be sent as JSON: {error}") from error
        return text.encode("utf-8")

    def _post(self, body: bytes, path: str = EMIT_PATH) -> int:
        """One request, retried on network errors and 5xx; returns ``accepted``."""
        attempt = 0
        started = _clock()
        while True:
            attempt += 1
            retry_after = None
            try:
                response = self._transport.post(path, body, self._headers)
            except socket.timeout as error:
                failure: NudgeError = NudgeTimeoutError(
                    f"the hub at {self.url} did not answer within {self.timeout} s",
                    url=self.url)
                failure.__cause__ = error
            except (OSError, http.client.HTTPException) as error:
                failure = NudgeConnectionError(
                    f"cannot reach the hub at {self.url}: {_describe(error)}", url=self.url)
                failure.__cause__ = error
            else:
                if 200 <= response.status < 300:
                    return self._accepted(response, attempt)
                failure = self._http_error(response)
                if not isinstance(failure, NudgeServerError):
                    failure.attempts = attempt
                    raise failure
                retry_after = _retry_after(response)
            left = self.retry_budget - (_clock() - started)
            if (self.retries is not None and attempt > self.retries) or left <= 0:
                failure.attempts = attempt
                if attempt > 1:
                    why = "" if left > 0 else f", retry budget of {self.retry_budget:g} s spent"
                    failure.args = (f"{failure.args[0]} (gave up after {attempt} attempts{why})",)
                raise failure
            _sleep(min(self._delay(attempt, retry_after), left))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait before retry number ``attempt``: from the hub's Retry-After (else
        ``backoff``), doubling, capped, jittered so that many emitters do not retry in
        lockstep, and never sooner than the Retry-After."""
        start = retry_after or self.backoff  # a Retry-After of 0 must not mean a busy loop
        delay = min(self.max_backoff, start * 2 ** (attempt - 1))
        delay *= _jitter()
        return max(delay, retry_after or 0.0)

    def _accepted(self, response: Response, attempt: int) -> int:
        try:
            accepted = json.loads(response.body)["accepted"]
            if accepted is True:  # a membership request
                return 1
            if isinstance(accepted, int):
                return accepted
        except (ValueError, TypeError, KeyError):
            pass
        raise NudgeError(
            f"the server at {self.url} answered {response.status} but not like a nudge hub "
            f"({_snippet(response.body)!r}); is NUDGE_URL the hub's address?",
            url=self.url, attempts=attempt)

    def _http_error(self, response: Response) -> NudgeHTTPError:
        status = response.status
        code, message = _hub_error(response)
        label = f"{status} {code}" if code else str(status)
        kwargs = {"status": status, "code": code, "message": message, "url": self.url}
        if status == 401:
            return NudgeAuthError(
                f"the hub at {self.url} refused the API key ({label}): {message}", **kwargs)
        if status >= 500:
            return NudgeServerError(f"the hub at {self.url} failed ({label}): {message}", **kwargs)
        hint = {
            404: f"; is {self.url} the hub's address?",
            413: "; the hub's --max-body is smaller than this client's max_body",
        }.get(status, "")
        return NudgeRequestError(
            f"the hub at {self.url} rejected the request ({label}): {message}{hint}", **kwargs)


def _hub_error(response: Response) -> tuple[str | None, str]:
    """The hub's ``{"error": {"code", "message"}}``, or the raw answer if it is not that."""
    try:
        error = json.loads(response.body)["error"]
        if isinstance(error.get("code"), str) and isinstance(error.get("message"), str):
            return error["code"], error["message"]
    except (ValueError, TypeError, KeyError, AttributeError):
        pass
    return None, _snippet(response.body) or "(empty answer)"


def _snippet(body: bytes, limit: int = 200) -> str:
    return body[:limit].decode("utf-8", "replace").strip()


def _describe(error: BaseException) -> str:
    if isinstance(error, http.client.RemoteDisconnected):
        return "the connection closed without an answer"
    if isinstance(error, socket.gaierror):
        return f"unknown host ({error.strerror})"
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return text or type(error).__name__
