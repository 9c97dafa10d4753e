"""Retries, backoff, keep-alive and batching, against a scripted fake hub."""

from __future__ import annotations

import json

import pytest

import nudge
from nudge import NudgeRequestError, NudgeServerError

OVERLOADED = (503, {"error": {"code": "overloaded", "message": "retry shortly"}},
              {"Retry-After": "1"})


def test_503_is_retried_after_retry_after(fake_hub, sleeps):
    fake_hub.answers = [OVERLOADED]
    client = nudge.Nudge(fake_hub.url, "key", backoff=0.01)
    assert client.emit_event("1", "balance_updated") == 1
    assert len(fake_hub.requests) == 2
    assert fake_hub.requests[0]["body"] == fake_hub.requests[1]["body"]
    assert len(sleeps) == 1 and sleeps[0] >= 1.0  # the hub's Retry-After, not the 0.01 s


def test_5xx_until_the_retries_run_out_backs_off_exponentially(fake_hub, sleeps):
    fake_hub.answers = [(500, {"error": {"code": "internal", "message": "boom"}}, {})] * 4
    client = nudge.Nudge(fake_hub.url, "key", retries=3, backoff=0.1, max_backoff=0.3)
    with pytest.raises(NudgeServerError) as caught:
        client.emit_event("1", "e")
    assert (caught.value.status, caught.value.code, caught.value.attempts) == (500, "internal", 4)
    assert "gave up after 4 attempts" in str(caught.value)
    assert len(fake_hub.requests) == 4
    # backoff * 2**n capped at max_backoff, with +-20 % jitter.
    for delay, full in zip(sleeps, [0.1, 0.2, 0.3]):
        assert full * 0.8 <= delay <= full * 1.2


def test_400_is_not_retried(fake_hub, sleeps):
    fake_hub.answers = [(400, {"error": {"code": "invalid_field", "message": "room: bad"}}, {})]
    with pytest.raises(NudgeRequestError) as caught:
        nudge.Nudge(fake_hub.url, "key").emit_event("1", "e")
    assert (caught.value.code, caught.value.message) == ("invalid_field", "room: bad")
    assert len(fake_hub.requests) == 1 and sleeps == []


def test_a_dropped_connection_is_retried(fake_hub, sleeps):
    fake_hub.answers = ["drop"]
    assert nudge.Nudge(fake_hub.url, "key").emit_event("1", "e") == 1
    assert len(fake_hub.requests) == 2 and len(sleeps) == 1


def test_requests_reuse_one_connection(fake_hub):
    with nudge.Nudge(fake_hub.url, "key") as client:
        for n in range(5):
            client.emit_event(str(n), "e")
    assert len({request["port"] for request in fake_hub.requests}) == 1


def test_request_shape(fake_hub):
    nudge.Nudge(fake_hub.url + "/prefix/", "the-key").emit(
        ["user_1", "user_2"], "loan_status_changed", {"loanId": "é"}, except_="user_3")
    request = fake_hub.requests[0]
    event_id = request["body"].pop("id")  # a fresh idempotency key per event
    assert len(event_id) == 32 and int(event_id, 16) >= 0
    assert request["path"] == "/prefix/api/v1/emit"
    assert request["headers"]["Authorization"] == "Bearer the-key"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {"event": "loan_status_changed", "rooms": ["user_1", "user_2"],
                               "except": ["user_3"], "data": {"loanId": "é"}}


def test_emit_many_chunks_by_count(fake_hub):
    client = nudge.Nudge(fake_hub.url, "key", max_batch=3)
    assert client.emit_many([{"room": "r", "event": f"e{n}"} for n in range(7)]) == 7
    sizes = [len(request["body"]["events"]) for request in fake_hub.requests]
    assert sizes == [3, 3, 1]
    sent = [event["event"] for request in fake_hub.requests for event in request["body"]["events"]]
    assert sent == [f"e{n}" for n in range(7)]


def test_emit_many_chunks_by_body_size(fake_hub):
    max_body = 300
    client = nudge.Nudge(fake_hub.url, "key", max_body=max_body)
    events = [{"room": "r", "event": "e", "data": {"pad": "x" * 60, "n": n}} for n in range(10)]
    assert client.emit_many(events) == 10
    assert len(fake_hub.requests) > 1
    for request in fake_hub.requests:
        body = json.dumps(request["body"], separators=(",", ":")).encode()
        assert len(body) <= max_body
    sent = [event["data"]["n"] for request in fake_hub.requests for event in request["body"]["events"]]
    assert sent == list(range(10))
