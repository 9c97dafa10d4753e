"""Emitting to the real hub, received by real socket.io-clients."""

from __future__ import annotations

import time

import pytest

import nudge
from conftest import API_KEY, running_hub


def test_emit_event_reaches_that_user_only(client, listen, new_user):
    alice, bob = new_user(), new_user()
    to_alice, to_bob = listen(alice, bob)

    assert client.emit_event(alice, "balance_updated", {"userId": alice}) == 1

    received = to_alice.next()
    assert (received["event"], received["args"]) == ("balance_updated", [{"userId": alice}])
    assert to_bob.quiet() == []


def test_emit_event_without_metadata_sends_an_empty_object_like_the_seed(client, listen,
                                                                           new_user):
    user = new_user()
    listener = listen(user)
    client.emit_event(user, "profile_updated")
    assert listener.next()["args"] == [{}]


def test_emit_event_accepts_integer_user_ids(client, listen):
    user = str(int(time.time() * 1000))  # numeric, like a database primary key
    listener = listen(user)
    client.emit_event(int(user), "profile_updated")
    assert listener.next()["event"] == "profile_updated"


def test_emit_to_several_rooms_except_one(client, listen, new_user):
    alice, bob, carol = new_user(), new_user(), new_user()
    to_alice, to_bob, to_carol = listen(alice, bob, carol)

    rooms = [client.room_for(user) for user in (alice, bob)]
    client.emit(rooms, "loan_status_changed", except_=client.room_for(bob))

    received = to_alice.next()
    assert (received["event"], received["args"]) == ("loan_status_changed", [])  # no data
    assert to_bob.quiet() == []
    assert to_carol.quiet(0) == []


def test_emit_many_splits_past_the_hubs_batch_limit_and_keeps_order(client, listen, new_user):
    alice, bob = new_user(), new_user()
    to_alice, to_bob = listen(alice, bob)
    count = 1500  # the hub takes at most 1000 per request
    events = [{"room": f"user_{alice}", "event": "tick", "data": {"n": n}} for n in range(count)]
    events.insert(700, {"room": f"user_{bob}", "event": "only_bob"})

    assert client.emit_many(events) == count + 1

    assert [event["args"][0]["n"] for event in to_alice.take(count)] == list(range(count))
    assert to_bob.next()["event"] == "only_bob"
    assert to_alice.quiet(0.2) == [] and to_bob.quiet(0) == []


def test_emit_many_with_small_batches(hub, listen, new_user):
    user = new_user()
    listener = listen(user)
    with nudge.Nudge(hub.url, API_KEY, max_batch=3) as client:
        assert client.emit_many({"room": f"user_{user}", "event": f"e{n}"} for n in range(7)) == 7
    assert [event["event"] for event in listener.take(7)] == [f"e{n}" for n in range(7)]


def test_emit_many_of_nothing_sends_nothing(dead_url):
    assert nudge.Nudge(dead_url, "key").emit_many([]) == 0


def test_module_level_functions_use_the_environment(hub, listen, new_user, monkeypatch):
    monkeypatch.setenv("NUDGE_URL", hub.url)
    monkeypatch.setenv("NUDGE_API_KEY", API_KEY)
    monkeypatch.setattr(nudge, "_default", None)
    user = new_user()
    listener = listen(user)

    nudge.emit_event(user, "transaction_happened")
    nudge.emit(f"user_{user}", "balance_updated", {"v": 2})
    nudge.emit_many([{"room": f"user_{user}", "event": "profile_updated"}])

    assert [(e["event"], e["args"]) for e in listener.take(3)] == [
        ("transaction_happened", [{}]), ("balance_updated", [{"v": 2}]), ("profile_updated", [])]
    assert nudge.default_client().url == hub.url


def test_configure_replaces_the_default_client(hub, listen, new_user, monkeypatch, dead_url):
    monkeypatch.setenv("NUDGE_URL", dead_url)  # configure() wins over the environment
    monkeypatch.setattr(nudge, "_default", None)
    user = new_user()
    listener = listen(user)

    client = nudge.configure(hub.url, API_KEY, user_room="user_{id}")
    nudge.emit_event(user, "balance_updated")

    assert nudge.default_client() is client
    assert listener.next()["event"] == "balance_updated"


def test_a_connection_the_hub_closed_while_idle_is_replaced(listen, new_user):
    user = new_user()
    with running_hub("--http-idle-timeout", "1") as short_hub:
        listener = listen(user, hub=short_hub)
        with nudge.Nudge(short_hub.url, API_KEY, retries=0) as client:
            client.emit_event(user, "first")
            time.sleep(2.5)  # the hub closes the kept-alive connection after 1 s idle
            client.emit_event(user, "second")  # retries=0: must not count as a retry
        assert [event["event"] for event in listener.take(2)] == ["first", "second"]
        assert listener.quiet(0.3) == []  # and nothing was sent twice


def test_user_room_template(hub, listen, new_user):
    user = new_user()
    listener = listen(user)
    with nudge.Nudge(hub.url, API_KEY, user_room="user_{id}") as client:
        assert client.room_for(user) == f"user_{user}"
        client.emit_event(user, "x")
    assert listener.next()["event"] == "x"
    with pytest.raises(nudge.NudgeValidationError, match=r"\{id\}"):
        nudge.Nudge(hub.url, API_KEY, user_room="users")
