"""The bank's Django backend in-process, on a fresh SQLite file, publishing through
nudge.channels.NudgeChannelLayer to a real hub (build/nudged, or $NUDGED_BIN).

Run from the repository root:  /usr/bin/python3 -m pytest -q examples/bank/django/tests
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
sys.path[:0] = [str(HERE.parent), str(REPO / "clients" / "python")]
NUDGED_BIN = Path(os.environ.get("NUDGED_BIN") or REPO / "build" / "nudged")
SECRET = "bank-test-secret-at-least-32-bytes"
API_KEY = "bank-test-api-key"


@pytest.fixture(scope="session")
def hub_url():
    if not NUDGED_BIN.exists():
        pytest.fail(f"{NUDGED_BIN} is missing: run `make build` (or set NUDGED_BIN)")
    hub = subprocess.Popen(
        [str(NUDGED_BIN), "--host", "127.0.0.1", "--port", "0", "--jwt-secret", SECRET,
         "--api-key", API_KEY, "--log-level", "info"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in hub.stdout:  # nudged prints its address once it listens
        seen.append(line)
        match = re.search(r"listening on (http://[\d.]+:\d+)", line)
        if match:
            break
    else:
        pytest.fail("nudged did not start:\n" + "".join(seen))
    # Drain the rest so the hub never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in hub.stdout], daemon=True).start()
    yield match.group(1)
    hub.send_signal(signal.SIGTERM)
    hub.wait(timeout=10)


@pytest.fixture(scope="session")
def bank(hub_url):
    """Django set up with the bank's settings, migrated and seeded (alice is 1, bob 2)."""
    data = tempfile.mkdtemp(prefix="nudge-bank-test-")
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bank_site.settings",
        "BANK_DATABASE": os.path.join(data, "bank.sqlite3"),
        "NUDGE_URL": hub_url,
        "NUDGE_API_KEY": API_KEY,
        "BANK_JWT_SECRET": SECRET,
        "BANK_SIMULATE_MS": "20",
    })
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from bank import accounts

    accounts.seed()
    yield accounts
    shutil.rmtree(data, ignore_errors=True)
