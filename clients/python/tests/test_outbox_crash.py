"""The outbox survives a crash: a Django process killed with SIGKILL right after its COMMIT,
before its relay published, loses nothing; the relay of the restarted app delivers the
events, in order, once. With SQLite and with Postgres 15 (a real server, started by the test).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from pathlib import Path


from conftest import API_KEY, EVENT_TIMEOUT

APP = Path(__file__).with_name("outbox_app.py")
PYTHON = os.environ.get("PYTHON") or "/usr/bin/python3"


def app(database: str, hub_url: str, *args: str, env=None) -> subprocess.Popen:
    env = {**os.environ, "OUTBOX_DB": database, "NUDGE_URL": hub_url, "NUDGE_API_KEY": API_KEY,
           **(env or {})}
    return subprocess.Popen([PYTHON, str(APP), *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_app(database: str, hub_url: str, *args: str, env=None) -> subprocess.CompletedProcess:
    process = app(database, hub_url, *args, env=env)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def outbox_rows(database: str) -> list[str]:
    query = "SELECT body FROM nudge_outbox ORDER BY id"
    if database.startswith("postgresql://"):
        import psycopg2

        conn = psycopg2.connect(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(query)
                return [row[0] for row in cursor.fetchall()]
        finally:
            conn.close()
    with sqlite3.connect(database) as conn:
        return [row[0] for row in conn.execute(query)]


def crash_then_restart(database: str, hub, listen, new_user, client) -> None:
    migrated = run_app(database, hub.url, "migrate", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    user = new_user()
    listener = listen(user)

    died = run_app(database, hub.url, "commit-and-die", user, "3")
    assert died.returncode == -signal.SIGKILL, died.stderr
    # The rows were committed with the change, and nothing was published before the kill: a
    # marker sent now is the first thing the user receives.
    assert len(outbox_rows(database)) == 3
    client.emit(f"user_{user}", "marker")
    assert listener.next()["event"] == "marker"

    # The app comes back: its relay publishes what the dead process committed.
    relay = app(database, hub.url, "nudge_relay")
    try:
        # The first wait also covers the relay process' start-up (Django's), on a loaded machine.
        received = [listener.next(EVENT_TIMEOUT * 3), *listener.take(2)]
        assert [(m["event"], m["args"]) for m in received] == [
            ("balance_updated", [{"n": n}]) for n in range(3)]
    finally:
        relay.send_signal(signal.SIGTERM)
        out, err = relay.communicate(timeout=EVENT_TIMEOUT * 4)
    assert relay.returncode == 0, err
    assert "publishing the outbox" in out
    # Delivered once (a marker after them comes next) and deleted.
    client.emit(f"user_{user}", "marker")
    assert listener.next()["event"] == "marker"
    assert outbox_rows(database) == []


def test_sqlite_kill_9_after_commit_loses_nothing(hub, listen, new_user, client, tmp_path):
    crash_then_restart(str(tmp_path / "app.sqlite3"), hub, listen, new_user, client)


def test_postgres_kill_9_after_commit_loses_nothing(hub, listen, new_user, client, postgres):
    crash_then_restart(postgres.database(), hub, listen, new_user, client)


def test_relay_once_reports_an_unreachable_hub_and_keeps_the_rows(hub, new_user, tmp_path,
                                                                 dead_url):
    database = str(tmp_path / "app.sqlite3")
    assert run_app(database, hub.url, "migrate", "--verbosity", "0").returncode == 0
    died = run_app(database, hub.url, "commit-and-die", new_user(), "2")
    assert died.returncode == -signal.SIGKILL, died.stderr

    failed = run_app(database, dead_url, "nudge_relay", "--once",
                     env={"NUDGE_RETRY_BUDGET": "0"})
    assert failed.returncode == 1
    assert f"cannot reach the hub at {dead_url}" in failed.stderr
    assert "the outbox rows stay" in failed.stderr
    assert len(outbox_rows(database)) == 2

    done = run_app(database, hub.url, "nudge_relay", "--once")
    assert done.returncode == 0, done.stderr
    assert "published 2 events" in done.stdout
    assert outbox_rows(database) == []
