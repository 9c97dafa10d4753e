"""Settings of the bank demo's Django backend, all from the environment (serve.py sets them from
its command line; run.mjs and the tests go through serve.py):

  NUDGE_URL            the hub, for publishing (default http://127.0.0.1:8080)
  NUDGE_API_KEY        the hub's --api-key
  BANK_JWT_SECRET      the hub's --jwt-secret: login signs the browsers' tokens with it
  BANK_PUBLIC_HUB_URL  where browsers connect (default NUDGE_URL)
  BANK_DATABASE        the SQLite file (serve.py makes a fresh one per start)
  BANK_DATABASE_URL    postgresql://user@host:port/dbname: PostgreSQL instead of SQLite
  BANK_REPLICA_URL     postgresql://...: a hot standby of BANK_DATABASE_URL; reads go to it
                       (nudge.django.fresh.ReplicaRouter), writes to the primary
  BANK_FRESH           "off": without nudge.django.fresh.FreshDataMiddleware, so a refetch may
                       read a standby that has not replayed its event yet (the replica test's
                       control). Default "on"
  BANK_FRESH_TIMEOUT   seconds the middleware waits for the standby (NUDGE_FRESH_TIMEOUT, 1.0)
  BANK_FRESH_MODE      "url": the front end asks for fresh data with ?nudge_v= (a cache in front
                       keys on it) instead of the Nudge-Min-Version header. Default "header"
  BANK_EMITS           "off": the app sends no events (nudge-cdc turns the database's committed
                       changes into them instead; examples/bank/cdc-rules.toml). Default "on"
  BANK_STATIC_DIR      the built front end (default examples/bank/dist)
  BANK_SIMULATE_MS     the "simulate activity" period (default 2000)
  BANK_ALLOWED_HOSTS   comma-separated Host names to answer (default 127.0.0.1,localhost)
  DJANGO_SECRET_KEY    unused by the bank (no sessions, no CSRF cookies); random if unset
"""

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

HERE = Path(__file__).resolve().parent.parent  # examples/bank/django

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = os.environ.get("BANK_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = ["bank.apps.BankConfig"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
# A refetch reads at least what its event announced (docs/fresh-data.md).
if os.environ.get("BANK_FRESH", "on") != "off":
    MIDDLEWARE.append("nudge.django.fresh.FreshDataMiddleware")
NUDGE_FRESH_TIMEOUT = float(os.environ.get("BANK_FRESH_TIMEOUT", "1.0"))
BANK_FRESH_MODE = os.environ.get("BANK_FRESH_MODE", "header")
ROOT_URLCONF = "bank_site.urls"
WSGI_APPLICATION = "bank_site.wsgi.application"


def _postgres(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise ImproperlyConfigured(
            f"bank: BANK_DATABASE_URL must look like postgresql://user@host:port/dbname, "
            f"got {url!r}")
    # Connections kept across requests (CONN_MAX_AGE), as in production: a request does not
    # pay a connection setup, and the fresh-data middleware's position query is a round trip.
    return {"ENGINE": "django.db.backends.postgresql", "NAME": unquote(parts.path.strip("/")),
            "USER": unquote(parts.username or ""), "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "", "PORT": str(parts.port or ""), "CONN_MAX_AGE": 60}


DATABASES = {
    "default": _postgres(os.environ["BANK_DATABASE_URL"])
    if os.environ.get("BANK_DATABASE_URL") else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BANK_DATABASE", str(HERE / "bank.sqlite3")),
        "OPTIONS": {"timeout": 10},
    }
}
if os.environ.get("BANK_REPLICA_URL"):
    DATABASES["replica"] = _postgres(os.environ["BANK_REPLICA_URL"])
    DATABASE_ROUTERS = ["nudge.django.fresh.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# The API's bodies are small; a larger one is answered 413 (bank/views.py read_json).
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024

# The seed's utils/realtime.py calls get_channel_layer(): nudge's layer publishes each
# group_send to the hub. The request does not wait for it (bank/events.py), so a short timeout
# and two retries, as the Node backend's emitter has.
NUDGE_URL = os.environ.get("NUDGE_URL", "http://127.0.0.1:8080")
NUDGE_API_KEY = os.environ.get("NUDGE_API_KEY")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "nudge.channels.NudgeChannelLayer",
        "CONFIG": {"timeout": 2.0, "retries": 2},
    },
}

# "off": bank/events.py sends nothing; the events come from the database (nudge-cdc).
BANK_EMITS = os.environ.get("BANK_EMITS", "on") != "off"

BANK_JWT_SECRET = os.environ.get("BANK_JWT_SECRET", "")
BANK_TOKEN_TTL = 12 * 3600
BANK_PUBLIC_HUB_URL = os.environ.get("BANK_PUBLIC_HUB_URL") or NUDGE_URL
BANK_STATIC_DIR = os.environ.get("BANK_STATIC_DIR", str(HERE.parent / "dist"))
BANK_SIMULATE_SECONDS = int(os.environ.get("BANK_SIMULATE_MS", "2000")) / 1000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"short": {"format": "%(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "short"}},
    "loggers": {
        "bank": {"handlers": ["stderr"], "level": "INFO"},
        "nudge": {"handlers": ["stderr"], "level": "WARNING"},
        # 4xx answers are the API working as designed; 5xx are logged with their traceback.
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
