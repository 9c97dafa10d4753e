"""``manage.py nudge_relay``: publishes the outbox's durable events to the hub until stopped.

    manage.py nudge_relay [--database default] [--once] [--batch-size 100] [--poll-interval 1]

Run one per database next to the app (a systemd unit, a container); SIGTERM or Ctrl-C stops it
after the request in flight. ``--once`` publishes what is in the table and exits (status 1 if
the hub could not take it: the rows stay).
"""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from ....errors import NudgeError
from ...outbox import Relay


class Command(BaseCommand):
    help = "Publishes nudge's outbox (durable events) to the hub, in order, until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS,
                            help="the database whose outbox to publish (default: default)")
        parser.add_argument("--once", action="store_true",
                            help="publish the rows present, then exit")
        parser.add_argument("--batch-size", type=int, help="rows per request (NUDGE_RELAY_BATCH)")
        parser.add_argument("--poll-interval", type=float,
                            help="seconds between looks at the table (NUDGE_RELAY_POLL)")

    def handle(self, *args, **options) -> None:
        try:
            relay = Relay(options["database"], batch_size=options["batch_size"],
                          poll_interval=options["poll_interval"])
        except NudgeError as error:
            raise CommandError(str(error)) from error
        if options["once"]:
            try:
                count = relay.publish_pending()
            except (NudgeError, DatabaseError) as error:
                raise CommandError(f"nudge relay: {error}; the outbox rows stay") from error
            self.stdout.write(f"nudge relay: published {count} events")
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: relay.stop())
        self.stdout.write(f"nudge relay: publishing the outbox of database "
                          f"{options['database']!r}", ending="\n")
        self.stdout.flush()
        relay.run()
