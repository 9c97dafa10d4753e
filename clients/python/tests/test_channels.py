"""nudge.channels.NudgeChannelLayer: the seed's group_send code, unchanged, reaches browsers."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from conftest import API_KEY

pytestmark = pytest.mark.usefixtures("django_ready")


def test_the_seeds_emit_event_reaches_that_user_only(listen, new_user):
    from utils.realtime import emit_event  # the seed's code, verbatim

    alice, bob = new_user(), new_user()
    to_alice, to_bob = listen(alice, bob)

    emit_event(user_id=alice, event_type="balance_updated", metadata={"userId": alice})

    received = to_alice.next()
    assert (received["event"], received["args"]) == ("balance_updated", [{"userId": alice}])
    assert to_bob.quiet() == []


def test_the_seeds_usage_in_a_view(listen, new_user):
    from utils.realtime import emit_event

    # The seed's process_transaction, with a stand-in for the saved model.
    def process_transaction(transaction):
        # ... business logic ...
        transaction.save()
        # Notify frontend - no data payload, just the signal
        emit_event(
            user_id=str(transaction.user_id),
            event_type="transaction_happened",
        )

    user = new_user()
    listener = listen(user)
    process_transaction(SimpleNamespace(user_id=user, save=lambda: None))
    received = listener.next()
    assert (received["event"], received["args"]) == ("transaction_happened", [{}])


def test_channel_layers_setting_selects_the_nudge_layer(hub):
    from channels.layers import get_channel_layer

    from nudge.channels import NudgeChannelLayer

    layer = get_channel_layer()
    assert isinstance(layer, NudgeChannelLayer)
    assert layer.client.url == hub.url


def layer(**config):
    from nudge.channels import NudgeChannelLayer

    return NudgeChannelLayer(**config)


def test_event_type_and_data_keys_are_accepted_too(hub, listen, new_user):
    from asgiref.sync import async_to_sync

    user = new_user()
    listener = listen(user)
    send = async_to_sync(layer(url=hub.url, api_key=API_KEY).group_send)
    send(f"user_{user}", {"type": "push.event", "event_type": "loan_status_changed",
                          "data": {"loanId": 3}})
    send(f"user_{user}", {"event": "no_type_no_data"})
    assert [(e["event"], e["args"]) for e in listener.take(2)] == [
        ("loan_status_changed", [{"loanId": 3}]), ("no_type_no_data", [])]


@pytest.mark.parametrize("message, complaint", [
    ({"type": "push.event", "metadata": {}}, "needs an 'event' key"),
    ({"type": "push.event", "event": "a", "event_type": "b"}, "both 'event' and 'event_type'"),
    ({"type": "push.event", "event": "a", "metadata": {}, "data": {}}, "both 'metadata'"),
    ({"type": "push.event", "event": "a", "payload": {}}, r"\['payload'\].*cannot send"),
    ({"type": "push.event", "event": ""}, "must not be empty"),
    ("balance_updated", "must be a dict"),
])
def test_messages_nudge_cannot_send_are_refused(fake_hub, message, complaint):
    from asgiref.sync import async_to_sync

    import nudge

    with pytest.raises(nudge.NudgeValidationError, match=complaint):
        async_to_sync(layer(url=fake_hub.url, api_key="key").group_send)("user_1", message)
    assert fake_hub.requests == []


def test_group_names_follow_channels_rules(fake_hub):
    from asgiref.sync import async_to_sync

    with pytest.raises(TypeError, match="Group name must be"):
        async_to_sync(layer(url=fake_hub.url, api_key="key").group_send)(
            "user 1", {"event": "e"})


def test_hub_errors_come_out_of_group_send(hub):
    from asgiref.sync import async_to_sync

    import nudge

    with pytest.raises(nudge.NudgeAuthError, match="refused the API key"):
        async_to_sync(layer(url=hub.url, api_key="wrong").group_send)("user_1", {"event": "e"})


def test_group_send_does_not_block_the_event_loop(fake_hub):
    # The fake hub holds its answer until `release` is set, and only a coroutine on the
    # event loop sets it: if group_send blocked the loop, the send would time out instead.
    fake_hub.answers = ["hang"]
    nudge_layer = layer(url=fake_hub.url, api_key="key", retries=0, timeout=20)

    async def scenario():
        sending = asyncio.ensure_future(nudge_layer.group_send("user_1", {"event": "e"}))
        while not fake_hub.received.is_set():
            await asyncio.sleep(0.01)
        fake_hub.release.set()
        await sending

    asyncio.run(asyncio.wait_for(scenario(), 30))
    body = fake_hub.requests[0]["body"]
    assert body.pop("id")
    assert body == {"room": "user_1", "event": "e"}


@pytest.mark.parametrize("operation, args", [
    ("send", ("specific.abc", {"type": "x"})),
    ("receive", ("specific.abc",)),
    ("new_channel", ()),
    ("group_add", ("user_1", "specific.abc")),
    ("group_discard", ("user_1", "specific.abc")),
])
def test_receiving_operations_explain_that_nudge_only_publishes(fake_hub, operation, args):
    import nudge

    nudge_layer = layer(url=fake_hub.url, api_key="key")
    with pytest.raises(nudge.NudgeUnsupportedError, match="only publishes") as caught:
        asyncio.run(getattr(nudge_layer, operation)(*args))
    assert isinstance(caught.value, NotImplementedError)


def test_a_consumer_on_this_layer_fails_with_the_explanation():
    from channels.consumer import AsyncConsumer

    import nudge

    async def receive():
        await asyncio.sleep(10)

    async def send(message):
        pass

    with pytest.raises(nudge.NudgeUnsupportedError, match="Channels consumers"):
        asyncio.run(AsyncConsumer()({"type": "websocket"}, receive, send))


def test_flush_and_close(fake_hub):
    nudge_layer = layer(url=fake_hub.url, api_key="key")

    async def scenario():
        await nudge_layer.group_send("user_1", {"event": "a"})
        await nudge_layer.flush()
        await nudge_layer.close()
        await nudge_layer.group_send("user_1", {"event": "b"})  # reconnects

    asyncio.run(scenario())
    assert [request["body"]["event"] for request in fake_hub.requests] == ["a", "b"]
    assert len({request["port"] for request in fake_hub.requests}) == 2
