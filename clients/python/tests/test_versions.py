"""nudge.django fills each event's ``version`` (issue 22): on PostgreSQL the WAL position read
after the COMMIT, which must be at or past the end of the transaction's commit record (checked
against the commit record's end LSN as logical decoding reports it), elsewhere a counter bumped
in the caller's transaction; a version the caller gives is kept; the outbox relay sends the
version a row recorded. The events go to a stand-in hub that records each request's body."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest

import nudge

pytestmark = pytest.mark.usefixtures("django_ready")


class Rollback(Exception):
    pass


def lsn_value(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


@pytest.fixture
def to_fake_hub(fake_hub, settings_override):
    with settings_override(NUDGE_URL=fake_hub.url):
        yield fake_hub


@pytest.fixture
def settings_override():
    from django.test import override_settings

    return override_settings


def sent(fake_hub) -> list[dict]:
    """Every event the stand-in hub received, in order."""
    return [event for request in fake_hub.requests
            for event in request["body"].get("events", [request["body"]])]


# --- SQLite: the counter ---------------------------------------------------------------------

def test_sqlite_versions_come_from_a_counter_that_commits_with_the_change(to_fake_hub):
    from django.db import transaction

    from nudge.django import emit, emit_event
    from nudge.django.versions import committed_version

    before = committed_version()
    assert isinstance(before, int)
    with transaction.atomic():
        emit_event("1", "a")
        emit(["user_1", "user_2"], "b", spread=3000)
        assert to_fake_hub.requests == []  # after the commit only
    first, second = sent(to_fake_hub)
    assert (first["version"], second["version"]) == (before + 1, before + 2)
    assert second["spread"] == 3000
    assert committed_version() == before + 2

    # A rolled-back transaction takes its bump back with its change, and sends nothing.
    with pytest.raises(Rollback), transaction.atomic():
        emit_event("1", "lost")
        raise Rollback
    assert committed_version() == before + 2
    emit_event("1", "c")  # autocommit: its own bump, after the change committed
    assert sent(to_fake_hub)[2]["version"] == before + 3

    # A version the caller gives is sent as given and bumps nothing.
    emit_event("1", "d", version="0/16B3748")
    emit_event("1", "e", version=12)
    assert [e["version"] for e in sent(to_fake_hub)[3:]] == ["0/16B3748", 12]
    assert committed_version() == before + 3


def test_a_bad_version_or_spread_raises_in_the_caller(to_fake_hub):
    from django.db import transaction

    from nudge.django import emit_event

    with transaction.atomic():
        with pytest.raises(nudge.NudgeValidationError, match="^version must be"):
            emit_event("1", "a", version="0x10")
        with pytest.raises(nudge.NudgeValidationError, match="^spread must be"):
            emit_event("1", "a", spread=60001)
    assert to_fake_hub.requests == []


def test_sqlite_durable_rows_record_the_version_and_the_relay_sends_it(to_fake_hub):
    from django.db import transaction

    from nudge.django import Relay, emit_event
    from nudge.django.models import OutboxEvent
    from nudge.django.versions import committed_version

    OutboxEvent.objects.all().delete()
    with transaction.atomic():
        emit_event("1", "a", durable=True)
        emit_event("1", "b", durable=True, version="0/5", spread=10)
    recorded = [json.loads(body)["version"]
                for body in OutboxEvent.objects.order_by("id").values_list("body", flat=True)]
    assert recorded == [committed_version(), "0/5"]
    relay = Relay()
    assert relay.publish_pending() == 2
    assert [(e["event"], e["version"], e.get("spread")) for e in sent(to_fake_hub)] == [
        ("a", recorded[0], None), ("b", "0/5", 10)]


# --- Through the real hub ----------------------------------------------------------------------

def test_the_version_reaches_a_nudge_client_through_the_hub(listen, new_user):
    """Django (SQLite's counter, and a given version with a spread) to a socket.io-client that
    opted in with auth.nudge: the metadata argument follows the data."""
    from django.db import transaction

    from nudge.django import emit_event
    from nudge.django.versions import committed_version

    user = new_user()
    listener = listen(user, nudge=True)
    with transaction.atomic():
        emit_event(user, "balance_updated", {"cents": 5})
    counted = committed_version()
    emit_event(user, "given", version="0/16b3748", spread=3000)
    first, second = listener.next(), listener.next()
    assert (first["event"], first["args"][:2]) == (
        "balance_updated", [{"cents": 5}, {"$nudge": {"v": str(counted)}}])
    # With a window, the hub adds when it took the event ("t", Unix ms): where the window starts.
    taken = second["args"][1]["$nudge"].pop("t")
    assert isinstance(taken, int) and abs(taken - time.time() * 1000) < 60_000, taken
    assert (second["event"], second["args"][:2]) == (
        "given", [{}, {"$nudge": {"v": "0/16B3748", "s": 3000}}])


# --- PostgreSQL 15: the WAL position -------------------------------------------------------------

@pytest.fixture(scope="module")
def pg(django_ready, postgres):
    """A database alias "pg" on a real PostgreSQL 15 (nudge's tables migrated), a `ledger`
    table, and a logical slot (test_decoding) that reports each transaction's commit LSNs."""
    from django.core.management import call_command
    from django.db import connections

    url = urlsplit(postgres.database())
    config = {"ENGINE": "django.db.backends.postgresql", "NAME": url.path.lstrip("/"),
              "USER": url.username, "HOST": url.hostname, "PORT": url.port}
    connections.settings["pg"] = connections.configure_settings(
        {"default": connections.settings["default"], "pg": config})["pg"]
    call_command("migrate", database="pg", verbosity=0)
    with connections["pg"].cursor() as cursor:
        cursor.execute("CREATE TABLE ledger (id SERIAL PRIMARY KEY, amount INTEGER)")
        cursor.execute("SELECT pg_create_logical_replication_slot('versions', 'test_decoding')")
    yield "pg"
    with connections["pg"].cursor() as cursor:
        cursor.execute("SELECT pg_drop_replication_slot('versions')")
    connections["pg"].close()
    del connections.settings["pg"]


def commit_ends(alias: str) -> list[int]:
    """The end LSN of every transaction committed since the last call (logical decoding's lsn
    of a COMMIT line is the end of the commit record)."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT lsn::text, data FROM pg_logical_slot_get_changes("
                       "'versions', NULL, NULL)")
        return [lsn_value(lsn) for lsn, data in cursor.fetchall() if data.startswith("COMMIT")]


def insert(alias: str, amount: int) -> None:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("INSERT INTO ledger (amount) VALUES (%s)", [amount])


def test_postgres_version_is_at_or_past_the_end_of_the_commit(to_fake_hub, pg):
    from django.db import connections, transaction

    from nudge.django import emit_event

    commit_ends(pg)
    with transaction.atomic(using=pg):
        insert(pg, 1)
        with connections[pg].cursor() as cursor:
            # What a version read inside the transaction would be: before the commit record.
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            inside = lsn_value(cursor.fetchone()[0])
        emit_event("1", "balance_updated", using=pg)
        emit_event("1", "given", using=pg, version="7")
    [end] = commit_ends(pg)
    assert inside < end
    event, given = sent(to_fake_hub)
    assert lsn_value(event["version"]) >= end
    assert given["version"] == "7"
    # Autocommit: the change commits on its own, then the event reads the position.
    insert(pg, 2)
    emit_event("1", "autocommit", using=pg)
    ends = commit_ends(pg)
    assert lsn_value(sent(to_fake_hub)[2]["version"]) >= ends[0]


def test_postgres_durable_rows_get_a_position_past_their_commit_from_the_relay(to_fake_hub, pg):
    from django.db import transaction

    from nudge.django import Relay, emit_event
    from nudge.django.models import OutboxEvent

    OutboxEvent.objects.using(pg).all().delete()
    commit_ends(pg)
    with transaction.atomic(using=pg):
        insert(pg, 3)
        emit_event("1", "durable", using=pg, durable=True)
        emit_event("1", "durable_given", using=pg, durable=True, version=99)
    [end] = commit_ends(pg)
    # Written without a position (it is not known before the COMMIT), the given one kept.
    bodies = [json.loads(b) for b in
              OutboxEvent.objects.using(pg).order_by("id").values_list("body", flat=True)]
    assert ["version" in bodies[0], bodies[1]["version"]] == [False, 99]
    assert Relay(pg).publish_pending() == 2
    durable, given = sent(to_fake_hub)
    assert lsn_value(durable["version"]) >= end
    assert given["version"] == 99
