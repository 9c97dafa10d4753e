#!/usr/bin/python3
"""The bank demo's Django backend, served by gunicorn (Debian's python3-gunicorn):

  NUDGE_API_KEY=... BANK_JWT_SECRET=... /usr/bin/python3 examples/bank/django/serve.py \
      [--host 127.0.0.1] [--port 3000] [--hub-url http://127.0.0.1:8080] [--public-hub-url URL]
      [--static-dir examples/bank/dist] [--threads 8]
      [--database-url postgresql://user@host:port/dbname] [--no-emits]
      [--replica-url postgresql://...] [--no-fresh] [--fresh-timeout SECONDS]
      [--fresh-mode header|url]

It listens first (``--port 0`` picks a free port; a taken port fails at once), makes a fresh
SQLite database in a temporary directory (or uses the PostgreSQL database of
``--database-url``, seeded if it has no customers yet), migrates and seeds it, prints
``bank: listening on http://HOST:PORT``, then serves until SIGINT or SIGTERM and removes the
database. One gunicorn worker process with threads: the "simulate activity" switches and the
write lock live in the process (bank/simulate.py, bank/accounts.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The repository's nudge emitter (clients/python) and this project.
sys.path[:0] = [str(HERE), str(HERE.parents[2] / "clients" / "python")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    parser.add_argument("--hub-url", default=os.environ.get("NUDGE_URL", "http://127.0.0.1:8080"),
                        help="where the backend publishes (NUDGE_URL)")
    parser.add_argument("--public-hub-url", help="where browsers connect (default --hub-url)")
    parser.add_argument("--static-dir", default=str(HERE.parent / "dist"),
                        help="the built front end")
    parser.add_argument("--simulate-ms", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8, help="requests served at once")
    parser.add_argument("--database-url", default=os.environ.get("BANK_DATABASE_URL"),
                        help="PostgreSQL instead of a fresh SQLite file (BANK_DATABASE_URL)")
    parser.add_argument("--replica-url", default=os.environ.get("BANK_REPLICA_URL"),
                        help="a hot standby of --database-url to read from (BANK_REPLICA_URL)")
    parser.add_argument("--no-fresh", action="store_true",
                        help="without nudge's fresh-data middleware (BANK_FRESH=off)")
    parser.add_argument("--fresh-timeout", type=float, default=1.0,
                        help="seconds to wait for the standby before reading the primary")
    parser.add_argument("--fresh-mode", choices=("header", "url"), default="header",
                        help="how the front end asks for fresh data: the Nudge-Min-Version "
                             "header, or ?nudge_v= for a cache in front (BANK_FRESH_MODE)")
    parser.add_argument("--no-emits", action="store_true",
                        help="send no events from the app: nudge-cdc makes them from the "
                             "database's changes (BANK_EMITS=off)")
    return parser.parse_args()


def fail(message: str) -> None:
    print(f"bank: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {error.strerror}")
    sock.listen(2048)
    return sock


def main() -> None:
    args = parse_args()
    for name in ("NUDGE_API_KEY", "BANK_JWT_SECRET"):
        if not os.environ.get(name):
            fail(f"{name} is not set (the hub's --api-key and --jwt-secret)")
    sock = listen(args.host, args.port)
    port = sock.getsockname()[1]
    host_name = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host_name}:{port}"

    data = tempfile.mkdtemp(prefix="nudge-bank-django-")
    wildcard = args.host in ("0.0.0.0", "::")
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bank_site.settings",
        "BANK_DATABASE": os.path.join(data, "bank.sqlite3"),
        "NUDGE_URL": args.hub_url,
        "BANK_PUBLIC_HUB_URL": args.public_hub_url or args.hub_url,
        "BANK_STATIC_DIR": args.static_dir,
        "BANK_SIMULATE_MS": str(args.simulate_ms),
    })
    if args.database_url:
        os.environ["BANK_DATABASE_URL"] = args.database_url
    if args.no_emits:
        os.environ["BANK_EMITS"] = "off"
    if args.replica_url:
        if not args.database_url:
            fail("--replica-url needs --database-url (the primary it is a standby of)")
        os.environ["BANK_REPLICA_URL"] = args.replica_url
    if args.no_fresh:
        os.environ["BANK_FRESH"] = "off"
    os.environ["BANK_FRESH_TIMEOUT"] = str(args.fresh_timeout)
    os.environ["BANK_FRESH_MODE"] = args.fresh_mode
    os.environ.setdefault("BANK_ALLOWED_HOSTS",
                          "*" if wildcard else ",".join({args.host, "127.0.0.1", "localhost"}))
    try:
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        from django.db import OperationalError

        try:
            call_command("migrate", verbosity=0, interactive=False)
        except OperationalError as error:
            fail(f"cannot use the database {args.database_url or 'file'}: "
                 f"{str(error).strip()} (is PostgreSQL running there?)")
        from bank.accounts import seed
        from bank.models import Customer

        if not Customer.objects.using("default").exists():  # a fresh SQLite file always; PostgreSQL maybe not
            seed()
        connections.close_all()  # gunicorn forks its worker next: no connection may cross

        from gunicorn.app.base import BaseApplication

        from bank_site.wsgi import application

        fd = sock.detach()  # gunicorn owns the listening socket from here

        class Server(BaseApplication):
            def load_config(self) -> None:
                for key, value in {
                    "bind": [f"fd://{fd}"],
                    "workers": 1,
                    "worker_class": "gthread",
                    "threads": args.threads,
                    "graceful_timeout": 5,
                    "loglevel": "warning",
                    "proc_name": "nudge-bank",
                }.items():
                    self.cfg.set(key, value)

            def load(self):
                return application

        print(f"bank: listening on {url}", flush=True)
        Server().run()
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C before gunicorn took over the signals
        sys.exit(130)
