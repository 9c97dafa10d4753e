"""A minimal Django app with durable events, run as a real process by test_outbox_crash.py
(so that it can be killed with SIGKILL). Settings from the environment:

  OUTBOX_DB        a SQLite file path, or postgresql://user@host:port/dbname
  NUDGE_URL, NUDGE_API_KEY, NUDGE_RETRY_BUDGET   the hub, and how long to retry it

  outbox_app.py migrate                      manage.py's commands, e.g. migrate, nudge_relay
  outbox_app.py commit-and-die USER COUNT    with the relay thread running: one transaction
        that changes a row and writes COUNT durable events to user USER, then SIGKILL of this
        process right after the COMMIT, before the relay could publish anything
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # clients/python: nudge


def database() -> dict:
    url = os.environ["OUTBOX_DB"]
    if not url.startswith("postgresql://"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url, "OPTIONS": {"timeout": 20}}
    parts = urlsplit(url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"),
            "USER": parts.username, "HOST": parts.hostname, "PORT": parts.port}


def configure() -> None:
    from django.conf import settings

    settings.configure(
        DATABASES={"default": database()},
        INSTALLED_APPS=["nudge.django"],
        USE_TZ=True,
        NUDGE_URL=os.environ["NUDGE_URL"],
        NUDGE_API_KEY=os.environ["NUDGE_API_KEY"],
        NUDGE_RETRY_BUDGET=float(os.environ.get("NUDGE_RETRY_BUDGET", "30")),
        # Only a commit in this process wakes the relay: no poll can publish by chance
        # between the COMMIT and the kill.
        NUDGE_RELAY_POLL=3600,
        LOGGING_CONFIG=None,
    )
    import django

    django.setup()


def commit_and_die(user: str, count: int) -> None:
    from django.db import connection, transaction

    from nudge.django import emit_event, start_relay_thread

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS ledger (n INTEGER)")
    relay = start_relay_thread()
    with transaction.atomic():
        # Registered first, so it runs first after COMMIT: before the commit wakes the relay.
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO ledger (n) VALUES (%s)", [count])
        for n in range(count):
            emit_event(user, "balance_updated", {"n": n}, durable=True)
    relay.stop()
    sys.exit("outbox_app: still alive after the commit")


def main() -> None:
    configure()
    if sys.argv[1] == "commit-and-die":
        commit_and_die(sys.argv[2], int(sys.argv[3]))
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
