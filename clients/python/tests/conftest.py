"""Fixtures: the real hub, real socket.io-client listeners, a scripted fake hub, Django.

Run from the repository root:  /usr/bin/python3 -m pytest -q clients/python/tests
The hub binary is build/nudged, or $NUDGED_BIN.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import nudge.client

REPO = Path(__file__).resolve().parents[3]
NUDGED_BIN = Path(os.environ.get("NUDGED_BIN") or REPO / "build" / "nudged")
LISTENER = Path(__file__).with_name("listener.mjs")
NODE = os.environ.get("NODE") or shutil.which("node") or "node"
SECRET = "python-test-secret-at-least-32-bytes"
API_KEY = "python-test-api-key"
# Generous: the suite must pass on a loaded two-core machine. Only failures wait this long.
STARTUP_TIMEOUT = 20.0
EVENT_TIMEOUT = 10.0


class Hub:
    """A running nudged; ``url`` is its base URL."""

    def __init__(self, *args: str) -> None:
        if not NUDGED_BIN.exists():
            pytest.fail(f"{NUDGED_BIN} is missing: run `make build` (or set NUDGED_BIN)")
        self.process = subprocess.Popen(
            [str(NUDGED_BIN), "--host", "127.0.0.1", "--port", "0", "--jwt-secret", SECRET,
             "--api-key", API_KEY, "--log-level", "info",
             # These tests check exact event arguments: no recovery offset argument (a flag in
             # *args wins: the hub takes the last value).
             "--recovery", "off", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.log: list[str] = []
        found: queue.Queue[str | None] = queue.Queue()

        def read() -> None:  # keeps draining so the hub never blocks on a full pipe
            for line in self.process.stdout:
                self.log.append(line)
                match = re.search(r"listening on (http://[\d.]+:\d+)", line)
                if match:
                    found.put(match.group(1))
            found.put(None)

        threading.Thread(target=read, daemon=True).start()
        try:
            self.url = found.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.url = None
        if self.url is None:
            self.stop()
            pytest.fail("nudged did not start:\n" + "".join(self.log))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running_hub(*args: str):
    hub = Hub(*args)
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="session")
def hub():
    with running_hub() as started:
        yield started


class Listener:
    """A socket.io-client (tests/listener.mjs) connected as ``user_id``; collects events."""

    def __init__(self, url: str, user_id: str, nudge: bool = False) -> None:
        if not (REPO / "node_modules" / "socket.io-client").is_dir():
            pytest.fail("socket.io-client is not installed: run `scripts/setup --npm` (npm ci)")
        self.user_id = user_id
        self.process = subprocess.Popen(
            [NODE, str(LISTENER), "--url", url, "--secret", SECRET, "--sub", user_id,
             *(["--nudge"] if nudge else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._lines: queue.Queue[dict] = queue.Queue()
        self._connected = threading.Event()
        self._stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self._stderr.extend(self.process.stderr),
                         daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            message = json.loads(line)
            if message["kind"] == "connected":
                self._connected.set()
            else:
                self._lines.put(message)

    def wait_connected(self) -> None:
        if not self._connected.wait(STARTUP_TIMEOUT):
            pending = [self._lines.get_nowait() for _ in range(self._lines.qsize())]
            raise AssertionError(f"listener for {self.user_id} did not connect: {pending} "
                                 f"{''.join(self._stderr)}")

    def next(self, timeout: float = EVENT_TIMEOUT) -> dict:
        """The next event ({"event", "args", "t"}); fails after ``timeout`` seconds."""
        try:
            message = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"user {self.user_id} received nothing in {timeout} s") from None
        assert message["kind"] == "event", message
        return message

    def take(self, count: int, timeout: float = EVENT_TIMEOUT) -> list[dict]:
        return [self.next(timeout) for _ in range(count)]

    def quiet(self, seconds: float = 0.5) -> list[dict]:
        """Everything that arrives within ``seconds`` (tests expect it to be nothing)."""
        deadline = time.monotonic() + seconds
        received = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                received.append(self._lines.get(timeout=left))
            except queue.Empty:
                break
        return received

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()


@pytest.fixture
def listen(hub):
    """``listen(user_id, ...)`` connects a listener per user (in parallel) to the session
    hub, or to ``hub=`` another one (``nudge=True``: as @nudge/query-core, auth.nudge). Returns
    one Listener, or a tuple for several."""
    started: list[Listener] = []

    def connect(*user_ids: str, hub=hub, nudge: bool = False):
        listeners = [Listener(hub.url, user_id, nudge) for user_id in user_ids]
        started.extend(listeners)
        for listener in listeners:
            listener.wait_connected()
        return listeners[0] if len(listeners) == 1 else tuple(listeners)

    yield connect
    for listener in started:
        listener.close()


@pytest.fixture
def new_user():
    """Fresh user ids, so no test sees another test's events."""
    return lambda: uuid.uuid4().hex[:12]


@pytest.fixture
def client(hub):
    with nudge.Nudge(hub.url, API_KEY) as instance:
        yield instance


@pytest.fixture
def dead_url():
    """A URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def sleeps(monkeypatch):
    """Records the client's backoff sleeps instead of sleeping. The client's clock (which
    its retry budget is measured on) moves on by each recorded sleep, as if it had slept."""
    recorded: list[float] = []
    monkeypatch.setattr(nudge.client, "_sleep", recorded.append)
    monkeypatch.setattr(nudge.client, "_clock", lambda: time.monotonic() + sum(recorded))
    return recorded


class FakeHub:
    """A scripted stand-in for the hub's publish API, to provoke what the real one rarely
    does. ``answers`` are used in order, then every request gets 202. An answer is
    ``(status, body, headers)``, ``"drop"`` (close the connection without answering) or
    ``"hang"`` (answer 202 once ``release`` is set, 500 if it is not within 10 s)."""

    def __init__(self) -> None:
        self.answers: list = []
        self.requests: list[dict] = []
        self.release = threading.Event()
        self.received = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the hub

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body), "port": self.client_address[1]})
                fake.received.set()
                answer = fake.answers.pop(0) if fake.answers else None
                if answer == "drop":
                    self.close_connection = True
                    return
                if answer == "hang":
                    answer = (202, {"accepted": 1}, {}) if fake.release.wait(10) else (500, b"", {})
                if answer is None:
                    events = json.loads(body).get("events")
                    answer = (202, {"accepted": len(events) if events else 1}, {})
                status, payload, headers = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_hub():
    fake = FakeHub()
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def django_ready(hub, tmp_path_factory):
    """Django configured against the session hub: a SQLite file (threads share it, as a
    relay thread must), the nudge settings, the nudge app (its outbox table migrated) and the
    nudge Channels layer as the default layer."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    if not settings.configured:
        database = tmp_path_factory.mktemp("django") / "test.sqlite3"
        settings.configure(
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database),
                                   "OPTIONS": {"timeout": 20}}},
            INSTALLED_APPS=["nudge.django"],
            USE_TZ=True,
            NUDGE_URL=hub.url,
            NUDGE_API_KEY=API_KEY,
            CHANNEL_LAYERS={
                "default": {
                    "BACKEND": "nudge.channels.NudgeChannelLayer",
                    "CONFIG": {"url": hub.url, "api_key": API_KEY},
                },
            },
        )
        django.setup()
        call_command("migrate", verbosity=0)
    return settings


class Postgres:
    """A throwaway PostgreSQL 15 cluster (scripts/postgres: initdb in a temporary directory,
    a free port, wal_level=logical); ``database()`` makes a fresh database in it."""

    def __init__(self) -> None:
        # Reachable by the postgres user, who runs the server when the tests run as root.
        self.parent = Path(tempfile.mkdtemp(prefix="nudge-pg-"))
        self.parent.chmod(0o755)
        self.dir = self.parent / "data"
        started = subprocess.run([str(REPO / "scripts" / "postgres"), "start", str(self.dir)],
                                 capture_output=True, text=True, timeout=120)
        if started.returncode != 0:
            shutil.rmtree(self.parent, ignore_errors=True)
            pytest.fail(f"Postgres did not start: {started.stderr}")
        self.url = started.stdout.strip()

    def database(self) -> str:
        """A new, empty database; returns its URL."""
        import psycopg2

        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        conn.close()
        return self.url.rsplit("/", 1)[0] + "/" + name

    def stop(self) -> None:
        subprocess.run([str(REPO / "scripts" / "postgres"), "stop", str(self.dir)],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    server = Postgres()
    yield server
    server.stop()
