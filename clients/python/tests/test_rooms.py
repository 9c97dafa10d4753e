"""Membership from the backend (sockets_join, sockets_leave, disconnect_sockets) against
the real hub, seen by real socket.io-clients."""

from __future__ import annotations

import pytest

import nudge


def test_sockets_join_leave_and_disconnect(client, listen, new_user):
    alice, bob = new_user(), new_user()
    tab1, tab2, to_bob = listen(alice, alice, bob)
    team = f"team_{new_user()}"

    client.sockets_join(client.room_for(alice), [team])
    client.emit(team, "board_updated", {"id": 7})
    for tab in (tab1, tab2):
        received = tab.next()
        assert (received["event"], received["args"]) == ("board_updated", [{"id": 7}])

    client.sockets_leave(client.room_for(alice), team)
    client.emit(team, "board_updated")
    client.emit_event(alice, "marker")
    assert tab1.next()["event"] == "marker"  # a later event: the team one was not sent
    assert tab2.next()["event"] == "marker"

    client.disconnect_sockets(client.room_for(alice))
    for tab in (tab1, tab2):
        line = tab._lines.get(timeout=5)
        assert line == {"kind": "disconnect", "reason": "io server disconnect"}
    assert to_bob.quiet() == []


def test_membership_arguments_are_checked_before_sending(client):
    with pytest.raises(nudge.NudgeValidationError, match="join must not be empty"):
        client.sockets_join("user_1", [])
    with pytest.raises(nudge.NudgeValidationError, match="rooms must hold non-empty strings"):
        client.disconnect_sockets(["user_1", ""])
    with pytest.raises(nudge.NudgeValidationError, match="except_"):
        client.sockets_leave("user_1", "team_7", except_=7)


def test_the_hubs_refusal_is_raised(client):
    with pytest.raises(nudge.NudgeRequestError, match="longer than 256 bytes"):
        client.sockets_join("user_1", "x" * 300)
