"""nudge.django: events leave only after the transaction commits."""

from __future__ import annotations

import datetime
import decimal
import logging
import time
import uuid

import pytest

import nudge
from conftest import API_KEY

pytestmark = pytest.mark.usefixtures("django_ready")


@pytest.fixture(scope="module")
def ledger(django_ready):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE ledger")


def insert(amount: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO ledger (amount) VALUES (%s)", [amount])


def rows(amount: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM ledger WHERE amount = %s", [amount])
        return cursor.fetchone()[0]


class Rollback(Exception):
    pass


def test_rolled_back_transaction_sends_nothing(ledger, listen, new_user):
    from django.db import transaction

    from nudge.django import emit_event

    user = new_user()
    listener = listen(user)
    with pytest.raises(Rollback):
        with transaction.atomic():
            insert(101)
            emit_event(user, "balance_updated", {"amount": 101})
            raise Rollback()

    assert rows(101) == 0
    assert listener.quiet(0.5) == []


def test_committed_transaction_sends_only_after_commit(ledger, listen, new_user):
    from django.db import transaction

    from nudge.django import emit_event

    user = new_user()
    listener = listen(user)
    committed_at = []
    with transaction.atomic():
        insert(102)
        # Registered first, so it runs first after COMMIT, before the emit.
        transaction.on_commit(lambda: committed_at.append(time.time() * 1000))
        emit_event(user, "balance_updated", {"amount": 102})
        time.sleep(0.5)
        before_commit = listener.quiet(0)

    assert before_commit == []
    received = listener.next()
    assert received["args"] == [{"amount": 102}]
    assert received["t"] > committed_at[0]
    assert rows(102) == 1


def test_outside_a_transaction_it_sends_at_once(listen, new_user):
    from nudge.django import emit_event

    user = new_user()
    listener = listen(user)
    emit_event(user, "profile_updated")
    assert listener.next()["args"] == [{}]


def test_rolled_back_savepoint_drops_only_its_own_events(ledger, listen, new_user):
    from django.db import transaction

    from nudge.django import emit, emit_event

    user = new_user()
    listener = listen(user)
    with transaction.atomic():
        emit_event(user, "kept")
        with pytest.raises(Rollback):
            with transaction.atomic():
                emit(f"user_{user}", "dropped")
                raise Rollback()
        emit(f"user_{user}", "also_kept", {"n": 2})

    assert [(e["event"], e["args"]) for e in listener.take(2)] == [
        ("kept", [{}]), ("also_kept", [{"n": 2}])]
    assert listener.quiet(0.3) == []


def test_bad_event_raises_in_the_view_not_after_commit(ledger):
    from django.db import transaction

    from nudge.django import emit_event

    with pytest.raises(nudge.NudgeValidationError, match="must not be empty"):
        with transaction.atomic():
            emit_event("1", "")


def test_django_types_in_metadata_are_encoded(listen, new_user):
    from nudge.django import emit_event

    user = new_user()
    listener = listen(user)
    key = uuid.uuid4()
    emit_event(user, "transaction_happened", {
        "id": key, "amount": decimal.Decimal("12.50"),
        "at": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)})
    assert listener.next()["args"] == [
        {"id": str(key), "amount": "12.50", "at": "2024-01-02T03:04:05Z"}]


def test_failure_after_commit_is_logged_and_the_request_goes_on(dead_url, caplog, sleeps):
    from django.db import transaction
    from django.test import override_settings

    from nudge.django import emit_event

    ran_after = []
    with override_settings(NUDGE_URL=dead_url, NUDGE_RETRIES=1), \
            caplog.at_level(logging.ERROR, logger="nudge"):
        with transaction.atomic():
            emit_event("7", "balance_updated")
            transaction.on_commit(lambda: ran_after.append(True))

    assert ran_after == [True]
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "'balance_updated'" in record.getMessage() and "user_7" in record.getMessage()
    assert f"cannot reach the hub at {dead_url}" in record.getMessage()
    assert "gave up after 2 attempts" in record.getMessage()


def test_failure_after_commit_raises_with_nudge_raise_errors(dead_url, sleeps):
    from django.db import transaction
    from django.test import override_settings

    from nudge.django import emit_event

    with override_settings(NUDGE_URL=dead_url, NUDGE_RETRIES=0, NUDGE_RAISE_ERRORS=True):
        with pytest.raises(nudge.NudgeConnectionError, match=dead_url):
            with transaction.atomic():
                emit_event("7", "balance_updated")


def test_wrong_api_key_in_settings_is_reported(hub, caplog):
    from django.test import override_settings

    from nudge.django import emit_event

    with override_settings(NUDGE_API_KEY="wrong"), caplog.at_level(logging.ERROR, logger="nudge"):
        emit_event("7", "balance_updated")
    assert "refused the API key (401 unauthorized)" in caplog.text


def test_settings_fall_back_to_the_environment(hub, listen, new_user, monkeypatch):
    from django.test import override_settings

    from nudge.django import emit_event, get_client

    monkeypatch.setenv("NUDGE_URL", hub.url)
    monkeypatch.setenv("NUDGE_API_KEY", API_KEY)
    user = new_user()
    listener = listen(user)
    with override_settings(NUDGE_URL=None, NUDGE_API_KEY=None):
        emit_event(user, "balance_updated")
        assert get_client().url == hub.url
    assert listener.next()["event"] == "balance_updated"
