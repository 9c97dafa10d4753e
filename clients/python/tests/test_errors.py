"""Every failure is a NudgeError that names its cause; 4xx are not retried."""

from __future__ import annotations

import pytest

import nudge
from nudge import (NudgeAuthError, NudgeConnectionError, NudgeError, NudgeRequestError,
                   NudgeServerError, NudgeTimeoutError, NudgeValidationError)


def test_hub_down_names_the_url_after_the_retries(dead_url, sleeps):
    client = nudge.Nudge(dead_url, "key", retries=2)
    with pytest.raises(NudgeConnectionError) as caught:
        client.emit_event("1", "balance_updated")
    text = str(caught.value)
    assert f"cannot reach the hub at {dead_url}" in text
    assert "refused" in text.lower() and "gave up after 3 attempts" in text
    assert (caught.value.url, caught.value.attempts, len(sleeps)) == (dead_url, 3, 2)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_wrong_api_key_is_an_auth_error_and_not_retried(hub, sleeps):
    with pytest.raises(NudgeAuthError) as caught:
        nudge.Nudge(hub.url, "not-the-key").emit_event("1", "balance_updated")
    error = caught.value
    assert (error.status, error.code, error.attempts, sleeps) == (401, "unauthorized", 1, [])
    assert f"the hub at {hub.url} refused the API key" in str(error)
    assert isinstance(error, NudgeRequestError)


def test_reserved_event_is_a_request_error_with_the_hubs_code_and_message(client, sleeps):
    with pytest.raises(NudgeRequestError) as caught:
        client.emit_event("1", "connect")
    error = caught.value
    assert (error.status, error.code, error.attempts, sleeps) == (400, "reserved_event", 1, [])
    assert error.message == 'event: "connect" is reserved by Socket.IO'
    assert "400 reserved_event" in str(error) and error.message in str(error)
    assert not isinstance(error, NudgeAuthError)


def test_body_over_the_hubs_limit_is_a_request_error(client):
    with pytest.raises(NudgeRequestError) as caught:
        client.emit_event("1", "balance_updated", {"blob": "x" * (1 << 20)})
    assert (caught.value.status, caught.value.code) == (413, "payload_too_large")
    assert "--max-body" in str(caught.value)


def test_emit_many_reports_how_many_were_accepted_before_a_failure(fake_hub):
    fake_hub.answers = [(202, {"accepted": 2}, {}),
                        (400, {"error": {"code": "invalid_field", "message": "events[0].room: bad"}}, {})]
    client = nudge.Nudge(fake_hub.url, "key", max_batch=2)
    with pytest.raises(NudgeRequestError) as caught:
        client.emit_many([{"room": "r", "event": f"e{n}"} for n in range(5)])
    assert caught.value.accepted == 2
    assert len(fake_hub.requests) == 2  # the third chunk was not sent


@pytest.mark.parametrize("call, complaint", [
    (lambda c: c.emit("room", ""), "must not be empty"),
    (lambda c: c.emit("room", None), "must be a str"),
    (lambda c: c.emit("room", b"balance_updated"), "must be a str"),
    (lambda c: c.emit([], "e"), "rooms must not be empty"),
    (lambda c: c.emit(["ok", ""], "e"), "non-empty strings"),
    (lambda c: c.emit({"room": 1}, "e"), "rooms must be a str or a list"),
    (lambda c: c.emit("room", "e", except_=[None]), "except_ must hold"),
    (lambda c: c.emit("room", "e", {"when": object()}), "cannot be sent as JSON"),
    (lambda c: c.emit("room", "e", {"ratio": float("nan")}), "cannot be sent as JSON"),
    (lambda c: c.emit_event("", "e"), "user_id must not be empty"),
    (lambda c: c.emit_many([{"room": "r", "evnt": "e"}]), r"events\[0\]: unknown key"),
    (lambda c: c.emit_many([{"event": "e"}]), "exactly one of room or rooms"),
    (lambda c: c.emit_many([{"room": "r", "rooms": ["s"], "event": "e"}]), "exactly one"),
    (lambda c: c.emit_many([{"room": "r", "event": "ok"}, {"room": "r", "event": ""}]),
     r"events\[1\]: event name must not be empty"),
    (lambda c: c.emit_many(["balance_updated"]), r"events\[0\] must be a dict"),
])
def test_bad_arguments_fail_before_anything_is_sent(fake_hub, call, complaint):
    with pytest.raises(NudgeValidationError, match=complaint):
        call(nudge.Nudge(fake_hub.url, "key"))
    assert fake_hub.requests == []


def test_validation_errors_are_value_errors():
    assert issubclass(NudgeValidationError, ValueError)
    assert issubclass(NudgeValidationError, NudgeError)


def test_missing_api_key_says_where_to_put_it(monkeypatch):
    monkeypatch.delenv("NUDGE_API_KEY", raising=False)
    with pytest.raises(NudgeValidationError, match="NUDGE_API_KEY"):
        nudge.Nudge("http://127.0.0.1:8080")


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://hub", "http://hub:99999",
                                 "http://hub/?x=1"])
def test_bad_urls_are_refused_up_front(url):
    with pytest.raises(NudgeValidationError, match="URL"):
        nudge.Nudge(url, "key")


def test_unknown_host_is_a_connection_error(sleeps):
    client = nudge.Nudge("http://nudge-hub.invalid:8080", "key", retries=0)
    with pytest.raises(NudgeConnectionError, match="nudge-hub.invalid"):
        client.emit_event("1", "e")


def test_timeout(fake_hub):
    fake_hub.answers = ["hang"]
    client = nudge.Nudge(fake_hub.url, "key", timeout=0.3, retries=0)
    with pytest.raises(NudgeTimeoutError, match=r"did not answer within 0.3 s"):
        client.emit_event("1", "e")
    assert isinstance(NudgeTimeoutError("x"), NudgeConnectionError)


def test_an_answer_that_is_not_the_hubs_is_an_error(fake_hub):
    fake_hub.answers = [(200, b"<html>welcome</html>", {"Content-Type": "text/html"})]
    with pytest.raises(NudgeError, match="not like a nudge hub.*welcome"):
        nudge.Nudge(fake_hub.url, "key").emit_event("1", "e")


def test_a_proxy_error_page_keeps_its_text(fake_hub, sleeps):
    fake_hub.answers = [(502, b"Bad Gateway", {"Content-Type": "text/plain"})]
    with pytest.raises(NudgeServerError) as caught:
        nudge.Nudge(fake_hub.url, "key", retries=0).emit_event("1", "e")
    assert (caught.value.status, caught.value.code, caught.value.message) == (502, None,
                                                                              "Bad Gateway")


def test_not_found_suggests_checking_the_url(fake_hub):
    fake_hub.answers = [(404, {"error": {"code": "not_found", "message": "no route"}}, {})]
    with pytest.raises(NudgeRequestError, match="is .* the hub's address"):
        nudge.Nudge(fake_hub.url, "key").emit_event("1", "e")


def test_repr_hides_the_api_key():
    assert "secret-key" not in repr(nudge.Nudge("http://127.0.0.1:1", "secret-key"))


@pytest.mark.parametrize("version", [-1, 1.5, 2**53, True, {}, "", "0/", "G/1", "123456789/1",
                                     "0x10", " 1", "18446744073709551616",
                                     "123456789012345678901", [1]])
def test_a_bad_version_fails_naming_the_field_before_anything_is_sent(fake_hub, version):
    client = nudge.Nudge(fake_hub.url, "k")
    with pytest.raises(NudgeValidationError, match=r"^version must be "):
        client.emit("user_1", "x", version=version)
    with pytest.raises(NudgeValidationError, match=r"^events\[1\]\.version must be "):
        client.emit_many([{"room": "a", "event": "x"}, {"room": "a", "event": "x",
                                                        "version": version}])
    assert fake_hub.requests == []


@pytest.mark.parametrize("spread", [-1, 60001, 1.5, "3000", True])
def test_a_bad_spread_fails_naming_the_field_before_anything_is_sent(fake_hub, spread):
    client = nudge.Nudge(fake_hub.url, "k")
    with pytest.raises(NudgeValidationError, match=r"^spread must be an int number of ms from 0 "):
        client.emit_event(1, "x", spread=spread)
    with pytest.raises(NudgeValidationError, match=r"^events\[0\]\.spread must be "):
        client.emit_many([{"room": "a", "event": "x", "spread": spread}])
    assert fake_hub.requests == []


def test_version_and_spread_are_sent_as_given(fake_hub):
    client = nudge.Nudge(fake_hub.url, "k", idempotent=False)
    client.emit("user_1", "x", version="0/16b3748", spread=0)
    client.emit_event(7, "x", {"a": 1}, version=2**53 - 1, spread=60000)
    client.emit_many([{"room": "a", "event": "x", "version": str(2**64 - 1)}])
    assert [r["body"] for r in fake_hub.requests] == [
        {"room": "user_1", "event": "x", "version": "0/16b3748", "spread": 0},
        {"room": "user_7", "event": "x", "data": {"a": 1}, "version": 2**53 - 1, "spread": 60000},
        {"events": [{"room": "a", "event": "x", "version": "18446744073709551615"}]},
    ]
