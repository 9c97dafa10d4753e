"""The default retry policy rides out a hub whose Redis broker is down for ~30 s.

While Redis is unreachable the hub answers ``503 broker_unavailable`` with ``Retry-After: 1``.
The client waits 1, 2, 4, 8, 8, ... s (from the Retry-After, doubling, capped at 8 s, +-20 %)
until 30 s have passed since the first attempt, sending the same event ids every time.
The ``sleeps`` fixture makes the waits instant (the client's clock moves on by each of them).
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

import nudge
import nudge.client
from conftest import API_KEY
from nudge import NudgeConnectionError, NudgeRequestError, NudgeServerError, NudgeValidationError

UNAVAILABLE = (503, {"error": {"code": "broker_unavailable",
                               "message": "the message broker is unreachable"}},
               {"Retry-After": "1"})


@pytest.fixture
def no_jitter(monkeypatch):
    """Waits without jitter, so a test can count the attempts a budget allows exactly."""
    monkeypatch.setattr(nudge.client, "_jitter", lambda: 1.0)


def _ids(requests: list[dict]) -> list:
    return [request["body"].get("id") for request in requests]


class BrokerDownProxy:
    """In front of the real hub: answers the first ``failures`` requests itself with the
    hub's 503 broker_unavailable (as a hub whose Redis is down does), then forwards."""

    def __init__(self, hub_url: str, failures: int) -> None:
        target = urlsplit(hub_url)
        self.bodies: list[dict] = []
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    proxy.bodies.append(json.loads(body))
                    failing = len(proxy.bodies) <= failures
                if failing:
                    status, payload, headers = UNAVAILABLE
                    data = json.dumps(payload).encode()
                else:
                    upstream = http.client.HTTPConnection(target.hostname, target.port,
                                                          timeout=10)
                    upstream.request("POST", self.path, body,
                                     {k: v for k, v in self.headers.items()
                                      if k.lower() != "host"})
                    answer = upstream.getresponse()
                    status, headers, data = answer.status, {}, answer.read()
                    upstream.close()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_five_broker_unavailable_answers_then_one_delivery(hub, listen, new_user, sleeps):
    user = new_user()
    listener = listen(user)
    proxy = BrokerDownProxy(hub.url, failures=5)
    try:
        with nudge.Nudge(proxy.url, API_KEY) as client:  # the defaults
            assert client.emit(f"user_{user}", "balance_updated", {"n": 1}) == 1
        assert len(proxy.bodies) == 6
        ids = {body["id"] for body in proxy.bodies}
        assert len(ids) == 1 and None not in ids  # one id, on every attempt
        assert listener.next()["args"][0] == {"n": 1}
        assert listener.quiet() == []
    finally:
        proxy.close()
    # From the hub's Retry-After: 1, doubling, capped at 8 s, +-20 %, never under 1 s.
    assert len(sleeps) == 5
    for wait, full in zip(sleeps, [1, 2, 4, 8, 8]):
        assert max(1.0, full * 0.8) <= wait <= full * 1.2


def test_emit_many_keeps_its_ids_across_retries(fake_hub, sleeps):
    fake_hub.answers = [UNAVAILABLE] * 5
    events = [{"room": "r", "event": f"e{n}"} for n in range(3)]
    assert nudge.Nudge(fake_hub.url, "key").emit_many(events) == 3
    assert len(fake_hub.requests) == 6
    batches = [[event["id"] for event in request["body"]["events"]]
               for request in fake_hub.requests]
    assert all(batch == batches[0] for batch in batches) and len(set(batches[0])) == 3


def test_the_budget_spent_names_the_last_status_and_code(fake_hub, sleeps, no_jitter):
    fake_hub.answers = [UNAVAILABLE] * 20
    with pytest.raises(NudgeServerError) as caught:
        nudge.Nudge(fake_hub.url, "key").emit_event("1", "balance_updated")
    error = caught.value
    # Waits 1, 2, 4, 8, 8 (23 s), then the 7 s left of the 30 s budget, then one last attempt.
    assert len(fake_hub.requests) == error.attempts == 7
    assert sleeps[:5] == [1, 2, 4, 8, 8] and 6.5 < sleeps[5] <= 7
    assert (error.status, error.code) == (503, "broker_unavailable")
    text = str(error)
    assert "503 broker_unavailable" in text
    assert "gave up after 7 attempts, retry budget of 30 s spent" in text
    assert len(set(_ids(fake_hub.requests))) == 1


def test_a_custom_budget(fake_hub, sleeps, no_jitter):
    fake_hub.answers = [UNAVAILABLE] * 20
    with pytest.raises(NudgeServerError, match="retry budget of 2.5 s spent"):
        nudge.Nudge(fake_hub.url, "key", retry_budget=2.5).emit_event("1", "e")
    assert len(fake_hub.requests) == 3  # waits 1, then the 1.5 s left
    assert sleeps[0] == 1 and 1.0 < sleeps[1] <= 1.5


def test_a_zero_budget_is_a_single_attempt(fake_hub, sleeps):
    fake_hub.answers = [UNAVAILABLE]
    with pytest.raises(NudgeServerError) as caught:
        nudge.Nudge(fake_hub.url, "key", retry_budget=0).emit_event("1", "e")
    assert (caught.value.attempts, len(fake_hub.requests), sleeps) == (1, 1, [])


def test_retries_still_bounds_the_attempts_within_the_budget(fake_hub, sleeps):
    fake_hub.answers = [UNAVAILABLE] * 20
    with pytest.raises(NudgeServerError, match=r"gave up after 3 attempts\)"):
        nudge.Nudge(fake_hub.url, "key", retries=2).emit_event("1", "e")
    assert len(fake_hub.requests) == 3 and len(sleeps) == 2


def test_an_unreachable_hub_is_retried_for_the_whole_budget(dead_url, sleeps, no_jitter):
    with pytest.raises(NudgeConnectionError) as caught:
        nudge.Nudge(dead_url, "key").emit_event("1", "e")
    # No Retry-After: waits 0.5, 1, 2, 4, 8, 8 (23.5 s), then the 6.5 s left.
    assert caught.value.attempts == 8
    assert sleeps[:6] == [0.5, 1, 2, 4, 8, 8] and 6.0 < sleeps[6] <= 6.5
    assert "refused" in str(caught.value).lower()
    assert "gave up after 8 attempts, retry budget of 30 s spent" in str(caught.value)


def test_a_dropped_connection_keeps_the_id(fake_hub, sleeps):
    fake_hub.answers = ["drop", UNAVAILABLE, "drop"]
    assert nudge.Nudge(fake_hub.url, "key").emit_event("1", "e") == 1
    assert len(fake_hub.requests) == 4 and len(set(_ids(fake_hub.requests))) == 1


def test_400_stops_the_retries_at_once(fake_hub, sleeps):
    fake_hub.answers = [UNAVAILABLE, UNAVAILABLE,
                        (400, {"error": {"code": "invalid_field", "message": "room: bad"}}, {})]
    with pytest.raises(NudgeRequestError) as caught:
        nudge.Nudge(fake_hub.url, "key").emit_event("1", "e")
    assert (caught.value.status, caught.value.code, caught.value.attempts) == (400,
                                                                               "invalid_field", 3)
    assert len(fake_hub.requests) == 3 and len(sleeps) == 2


def test_400_is_never_retried(fake_hub, sleeps):
    fake_hub.answers = [(400, {"error": {"code": "invalid_field", "message": "room: bad"}}, {})]
    with pytest.raises(NudgeRequestError) as caught:
        nudge.Nudge(fake_hub.url, "key").emit_event("1", "e")
    assert (caught.value.status, caught.value.attempts) == (400, 1)
    assert len(fake_hub.requests) == 1 and sleeps == []


def test_a_negative_budget_is_refused():
    with pytest.raises(NudgeValidationError, match="retry_budget"):
        nudge.Nudge("http://127.0.0.1:1", "key", retry_budget=-1)


def test_a_retry_after_of_0_waits_from_the_backoff_not_in_a_busy_loop(fake_hub, sleeps,
                                                                       no_jitter):
    zero = (503, UNAVAILABLE[1], {"Retry-After": "0"})
    fake_hub.answers = [zero, zero]
    assert nudge.Nudge(fake_hub.url, "key").emit_event("1", "e") == 1
    assert sleeps == [0.5, 1.0]
