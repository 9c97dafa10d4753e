"""A minimal Django app behind nudge.django.fresh, served by wsgiref on a free port for
test_fresh.py (Django's settings are per process, and the test process has its own). It prints
``listening PORT`` and serves until killed. Environment:

  FRESH_PRIMARY, FRESH_REPLICA   postgresql://user@host:port/dbname of the primary and the standby
  NUDGE_FRESH_TIMEOUT            seconds the middleware waits for the standby
  NUDGE_FRESH_MAX_WAITING        requests that may wait for it at once (default 4)

  GET  /x    {"x": the value of the row, "db": the alias the read went to}
  POST /x    the same, from inside the request (a write request reads from the primary)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # clients/python: nudge


def database(url: str) -> dict:
    parts = urlsplit(url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"),
            "USER": parts.username, "HOST": parts.hostname, "PORT": parts.port}


def x_view(request):
    from django.db import connections
    from django.http import JsonResponse

    from nudge.django.fresh import current_alias

    alias = current_alias()
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT x FROM t WHERE id = 1")
        (x,) = cursor.fetchone()
    return JsonResponse({"x": x, "db": alias})


def main() -> None:
    from django.conf import settings
    from django.urls import path

    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        DATABASES={"default": database(os.environ["FRESH_PRIMARY"]),
                   "replica": database(os.environ["FRESH_REPLICA"])},
        DATABASE_ROUTERS=["nudge.django.fresh.ReplicaRouter"],
        MIDDLEWARE=["nudge.django.fresh.FreshDataMiddleware"],
        ROOT_URLCONF=__name__,
        NUDGE_FRESH_TIMEOUT=float(os.environ["NUDGE_FRESH_TIMEOUT"]),
        NUDGE_FRESH_MAX_WAITING=int(os.environ.get("NUDGE_FRESH_MAX_WAITING", "4")),
        USE_TZ=True,
    )
    globals()["urlpatterns"] = [path("x", x_view)]
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    print(f"listening {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
