"""Durable events (nudge.django's outbox): written in the caller's transaction, published by
the relay in order with the row id as the idempotency id, kept while the hub is down."""

from __future__ import annotations

import logging
import threading

import pytest

import nudge
from conftest import API_KEY, EVENT_TIMEOUT

pytestmark = pytest.mark.usefixtures("django_ready")


class Rollback(Exception):
    pass


@pytest.fixture
def empty_outbox():
    from nudge.django.models import OutboxEvent

    OutboxEvent.objects.all().delete()
    yield
    OutboxEvent.objects.all().delete()


def bodies() -> list[dict]:
    import json

    from nudge.django.models import OutboxEvent

    return [json.loads(body) for body in OutboxEvent.objects.values_list("body", flat=True)]


def marker(client, user: str, listener) -> None:
    """Publishes a marker and waits for it: whatever the user was sent before it has arrived."""
    client.emit(f"user_{user}", "marker")
    assert listener.next()["event"] == "marker"


def test_durable_events_are_rows_of_the_transaction(empty_outbox, listen, new_user, client):
    from django.db import transaction

    from nudge.django import Relay, emit_event
    from nudge.django.versions import committed_version

    user = new_user()
    listener = listen(user)
    with pytest.raises(Rollback):
        with transaction.atomic():
            emit_event(user, "dropped", durable=True)
            raise Rollback()
    assert bodies() == []
    with transaction.atomic():
        emit_event(user, "balance_updated", {"cents": 5}, durable=True)
        # With the version the counter gave it in this transaction (nudge.django.versions).
        assert bodies() == [{"room": f"user_{user}", "event": "balance_updated",
                             "data": {"cents": 5}, "version": committed_version()}]
    marker(client, user, listener)  # nothing is published without a relay

    assert Relay().publish_pending() == 1
    assert listener.next()["args"] == [{"cents": 5}]
    assert bodies() == []


def test_nudge_durable_setting_makes_it_the_default(empty_outbox, listen, new_user):
    from django.test import override_settings

    from nudge.django import Relay, emit, emit_event

    user = new_user()
    listener = listen(user)
    with override_settings(NUDGE_DURABLE=True):
        emit_event(user, "one")
        emit(f"user_{user}", "two", {"n": 2})
        assert [body["event"] for body in bodies()] == ["one", "two"]
        emit_event(user, "not_durable", durable=False)  # sent at once, outside a transaction
        assert listener.next()["event"] == "not_durable"
    assert Relay().publish_pending() == 2
    assert [m["event"] for m in listener.take(2)] == ["one", "two"]


def test_relay_publishes_in_order_across_batches(empty_outbox, listen, new_user, client):
    from django.db import transaction

    from nudge.django import Relay, emit_event

    user = new_user()
    listener = listen(user)
    n = 0
    for _ in range(3):
        with transaction.atomic():
            for _ in range(5):
                emit_event(user, "n", {"n": n}, durable=True)
                n += 1
    emit_event(user, "n", {"n": n}, durable=True)  # autocommit

    assert Relay(batch_size=4).publish_pending() == 16
    assert [m["args"][0]["n"] for m in listener.take(16)] == list(range(16))
    marker(client, user, listener)


class DiesBeforeDelete(Exception):
    pass


def test_a_relay_restarted_after_the_202_but_before_the_delete_is_deduplicated(
        empty_outbox, listen, new_user, client):
    from nudge.django import Relay, emit_event

    class CrashingRelay(Relay):
        def _delete(self, ids):
            raise DiesBeforeDelete()  # the hub has answered 202; the rows stay

    user = new_user()
    listener = listen(user)
    for n in range(3):
        emit_event(user, "n", {"n": n}, durable=True)
    with pytest.raises(DiesBeforeDelete):
        CrashingRelay().publish_pending()
    assert [m["args"][0]["n"] for m in listener.take(3)] == [0, 1, 2]
    assert len(bodies()) == 3

    assert Relay().publish_pending() == 3  # the hub accepts them (202) and drops them by id
    assert bodies() == []
    marker(client, user, listener)  # the next thing received: no duplicate came before it


def test_rows_survive_a_hub_outage_and_the_relay_thread_catches_up(
        empty_outbox, listen, new_user, dead_url, caplog, hub):
    from django.test import override_settings

    from nudge.django import emit_event, start_relay_thread

    user = new_user()
    listener = listen(user)
    failed = threading.Event()

    class Watch(logging.Handler):
        def emit(self, record):
            if "the outbox rows stay" in record.getMessage():
                failed.set()

    watch = Watch()
    logging.getLogger("nudge").addHandler(watch)
    relay = None
    try:
        with override_settings(NUDGE_URL=dead_url, NUDGE_RETRIES=0, NUDGE_RELAY_BACKOFF=0.05,
                               NUDGE_RELAY_MAX_BACKOFF=0.2):
            relay = start_relay_thread()
            for n in range(3):
                emit_event(user, "n", {"n": n}, durable=True)
            assert failed.wait(EVENT_TIMEOUT), "the relay never tried the dead hub"
            assert len(bodies()) == 3
            # The hub is back (the settings point at it again): the thread delivers.
            with override_settings(NUDGE_URL=hub.url):
                assert [m["args"][0]["n"] for m in listener.take(3)] == [0, 1, 2]
                relay.stop(EVENT_TIMEOUT)
    finally:
        logging.getLogger("nudge").removeHandler(watch)
        if relay is not None:
            relay.stop(EVENT_TIMEOUT)
    assert not relay.is_alive()
    assert relay.relay.failures >= 1 and relay.relay.published == 3
    assert bodies() == []
    assert f"cannot reach the hub at {dead_url}" in caplog.text


def test_an_event_the_hub_can_never_accept_is_logged_and_does_not_block_the_rest(
        empty_outbox, listen, new_user, caplog):
    from nudge.django import Relay, emit_event
    from nudge.django.models import OutboxEvent

    user = new_user()
    listener = listen(user)
    emit_event(user, "n", {"n": 0}, durable=True)
    bad = OutboxEvent.objects.create(body='{"room":"x","event":""}')  # written by hand
    not_json = OutboxEvent.objects.create(body="{oops")
    emit_event(user, "n", {"n": 1}, durable=True)

    relay = Relay()
    with caplog.at_level(logging.ERROR, logger="nudge"):
        assert relay.publish_pending() == 2
    assert [m["args"][0]["n"] for m in listener.take(2)] == [0, 1]
    assert relay.dropped == 2 and bodies() == []
    assert f"outbox row {bad.id}, dropped" in caplog.text
    assert f"outbox row {not_json.id} is not an event" in caplog.text


def test_a_wrong_api_key_keeps_the_rows(empty_outbox, new_user):
    from django.test import override_settings

    from nudge.django import Relay, emit_event

    emit_event(new_user(), "n", durable=True)
    with override_settings(NUDGE_API_KEY="wrong"):
        with pytest.raises(nudge.NudgeAuthError, match="refused the API key"):
            Relay().publish_pending()
    assert len(bodies()) == 1


def test_durable_without_the_app_says_what_to_do(new_user):
    from django.test import override_settings

    from nudge.django import emit_event

    with override_settings(INSTALLED_APPS=[]):
        with pytest.raises(nudge.NudgeValidationError,
                           match="add 'nudge.django' to INSTALLED_APPS and run"):
            emit_event(new_user(), "n", durable=True)


def test_bad_data_raises_at_the_call(empty_outbox):
    from django.db import transaction

    from nudge.django import emit_event

    with pytest.raises(nudge.NudgeValidationError, match="cannot be sent as JSON"):
        with transaction.atomic():
            emit_event("7", "n", {"bad": object()}, durable=True)
    assert bodies() == []


def test_the_seeds_realtime_py_writes_to_the_outbox_in_the_callers_transaction(
        empty_outbox, listen, new_user, hub):
    from channels.layers import channel_layers
    from django.db import transaction
    from django.test import override_settings

    from nudge.django import Relay
    from utils.realtime import emit_event  # the seed's code, verbatim

    layers = {"default": {"BACKEND": "nudge.channels.NudgeChannelLayer",
                          "CONFIG": {"url": hub.url, "api_key": API_KEY, "durable": True}}}
    user = new_user()
    listener = listen(user)
    with override_settings(CHANNEL_LAYERS=layers):
        with pytest.raises(Rollback):
            with transaction.atomic():
                emit_event(user, "rolled_back")
                assert len(bodies()) == 1  # visible inside the transaction only
                raise Rollback()
        assert bodies() == []
        with transaction.atomic():
            emit_event(user, "transaction_happened", {"id": 1})
        assert [b["event"] for b in bodies()] == ["transaction_happened"]
    channel_layers.backends.clear()

    assert Relay().publish_pending() == 1
    received = listener.next()
    assert (received["event"], received["args"]) == ("transaction_happened", [{"id": 1}])
