"""Errors raised by the nudge emitter.

Every failure is an exception whose message names the cause (which hub, which
status, which field); nothing is dropped silently. Catch ``NudgeError`` for all
of them, or a subclass for one cause:

    NudgeError
    ├── NudgeValidationError   bad arguments, caught before anything is sent (also a ValueError)
    ├── NudgeConnectionError   the hub could not be reached or did not answer (after retries)
    │   └── NudgeTimeoutError  ... because the per-request timeout passed
    ├── NudgeRequestError      the hub rejected the request: 4xx, never retried
    │   └── NudgeAuthError     401: missing or wrong API key
    ├── NudgeServerError       5xx (e.g. 503 overloaded) still failing after the retries
    └── NudgeUnsupportedError  a Channels operation a publish-only layer cannot do
                               (also a NotImplementedError)
"""

from __future__ import annotations


class NudgeError(Exception):
    """Base class of every nudge error.

    ``url`` is the hub the request went to (``None`` when nothing was sent),
    ``attempts`` how many requests were made, and ``accepted`` how many events
    of an ``emit_many`` call the hub had already taken before this failure.
    """

    def __init__(self, text: str, *, url: str | None = None, attempts: int = 0) -> None:
        super().__init__(text)
        self.url = url
        self.attempts = attempts
        self.accepted = 0


class NudgeValidationError(NudgeError, ValueError):
    """An argument is invalid (empty event name, no rooms, data not JSON...)."""


class NudgeConnectionError(NudgeError):
    """The hub could not be reached, or the connection failed before an answer."""


class NudgeTimeoutError(NudgeConnectionError):
    """The hub did not answer within the timeout."""


class NudgeHTTPError(NudgeError):
    """The hub answered with an error status.

    ``status`` is the HTTP status; ``code`` and ``message`` are the hub's
    ``{"error": {"code", "message"}}`` (``code`` is ``None`` when the answer was
    not the hub's JSON, e.g. from a proxy in between).
    """

    def __init__(
        self,
        text: str,
        *,
        status: int,
        code: str | None,
        message: str,
        url: str | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(text, url=url, attempts=attempts)
        self.status = status
        self.code = code
        self.message = message


class NudgeRequestError(NudgeHTTPError):
    """The hub rejected the request (4xx). Retrying the same request cannot help."""


class NudgeAuthError(NudgeRequestError):
    """The hub answered 401: the API key is missing or wrong."""


class NudgeServerError(NudgeHTTPError):
    """The hub answered 5xx on every attempt (503 means it is overloaded)."""


class NudgeUnsupportedError(NudgeError, NotImplementedError):
    """The operation needs a receiving channel layer; nudge only publishes."""
