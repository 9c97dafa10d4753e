"""nudge.django.fresh against a real PostgreSQL 15 primary and a streaming hot standby
(scripts/postgres start / standby / delay): the router reads from the standby, the middleware
waits for it to replay Nudge-Min-Version, reads from the primary past its timeout, and says
where it read (Nudge-Version, Vary, Cache-Control)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nudge.django.fresh import version_value

HERE = Path(__file__).resolve().parent
POSTGRES = HERE.parents[2] / "scripts" / "postgres"


def _script(*args: str) -> str:
    done = subprocess.run([str(POSTGRES), *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"scripts/postgres {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def _sql(url: str, text: str) -> str:
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(text)
            return str(cursor.fetchone()[0]) if cursor.description else ""
    finally:
        conn.close()


@pytest.fixture(scope="module")
def clusters():
    parent = Path(tempfile.mkdtemp(prefix="nudge-fresh-"))
    parent.chmod(0o755)
    try:
        primary = _script("start", str(parent / "primary"))
        _sql(primary, "CREATE TABLE t (id int PRIMARY KEY, x int)")
        _sql(primary, "INSERT INTO t VALUES (1, 100)")
        port = primary.rsplit(":", 1)[1].split("/")[0]
        standby = _script("standby", str(parent / "standby"), port, "0")
        yield {"primary": primary, "standby": standby, "standby_dir": str(parent / "standby")}
    finally:
        for name in ("standby", "primary"):
            subprocess.run([str(POSTGRES), "stop", str(parent / name)], capture_output=True,
                           timeout=60)
        shutil.rmtree(parent, ignore_errors=True)


class App:
    def __init__(self, clusters: dict, timeout: float, max_waiting: int = 4) -> None:
        env = {"FRESH_PRIMARY": clusters["primary"], "FRESH_REPLICA": clusters["standby"],
               "NUDGE_FRESH_TIMEOUT": str(timeout), "NUDGE_FRESH_MAX_WAITING": str(max_waiting),
               "PATH": "/usr/bin:/bin"}
        self.process = subprocess.Popen([sys.executable, str(HERE / "fresh_app.py")], env=env,
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.process.kill()
            pytest.fail(f"fresh_app.py did not start: {line!r}")
        self.url = f"http://127.0.0.1:{line.split()[1]}"

    def request(self, path: str = "/x", method: str = "GET", headers: dict | None = None):
        req = urllib.request.Request(self.url + path, method=method, headers=headers or {},
                                     data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                return answer.status, dict(answer.headers), json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def patient(clusters):
    app = App(clusters, timeout=30.0)
    yield app
    app.close()


@pytest.fixture(scope="module")
def hasty(clusters):
    app = App(clusters, timeout=0.2)
    yield app
    app.close()


@pytest.fixture(scope="module")
def crowded(clusters):
    app = App(clusters, timeout=30.0, max_waiting=0)
    yield app
    app.close()


def _commit(clusters: dict, x: int) -> str:
    """Updates the row on the primary; returns the position after the commit (as the Django
    helper sends it with the event)."""
    _sql(clusters["primary"], f"UPDATE t SET x = {x} WHERE id = 1")
    return _sql(clusters["primary"], "SELECT pg_current_wal_lsn()::text")


def test_reads_go_to_the_standby_and_a_lagging_one_answers_old_data(clusters, hasty):
    _script("delay", clusters["standby_dir"], "1h")
    version = _commit(clusters, 200)
    status, headers, body = hasty.request()
    assert status == 200
    assert body == {"x": 100, "db": "replica"}  # the control: without a minimum, stale
    assert version_value(headers["Nudge-Version"]) < version_value(version)
    assert "Nudge-Min-Version" in headers["Vary"]
    assert headers["Server-Timing"].startswith("nudge;dur=")

    # Past the timeout the read goes to the primary, and says so.
    status, headers, body = hasty.request(headers={"Nudge-Min-Version": version})
    assert (status, body) == (200, {"x": 200, "db": "default"})
    assert version_value(headers["Nudge-Version"]) >= version_value(version)
    assert "Nudge-Min-Version" in headers["Vary"]
    assert "Cache-Control" not in headers

    # The version-keyed URL: the same answer, cacheable.
    status, headers, body = hasty.request(f"/x?nudge_v={version}")
    assert (status, body) == (200, {"x": 200, "db": "default"})
    assert headers["Cache-Control"] == "max-age=60"


def test_the_middleware_waits_for_the_standby_to_replay_the_version(clusters, patient):
    _script("delay", clusters["standby_dir"], "1h")
    version = _commit(clusters, 300)
    assert patient.request()[2]["x"] != 300  # the standby has not replayed it
    _script("delay", clusters["standby_dir"], "1s")  # the standby replays it a second later
    status, headers, body = patient.request(headers={"Nudge-Min-Version": version})
    assert (status, body) == (200, {"x": 300, "db": "replica"})
    assert version_value(headers["Nudge-Version"]) >= version_value(version)
    assert headers["Server-Timing"].endswith('desc="replica, waited"')


def test_past_max_waiting_a_request_reads_from_the_primary_without_waiting(clusters, crowded):
    _script("delay", clusters["standby_dir"], "1h")
    version = _commit(clusters, 350)
    status, headers, body = crowded.request(headers={"Nudge-Min-Version": version})
    assert (status, body) == (200, {"x": 350, "db": "default"})
    assert headers["Server-Timing"].endswith('desc="default"')  # not ', waited'


def test_a_write_request_reads_from_the_primary(clusters, patient):
    _script("delay", clusters["standby_dir"], "1h")
    _commit(clusters, 400)
    status, _, body = patient.request(method="POST")
    assert (status, body) == (200, {"x": 400, "db": "default"})


@pytest.mark.parametrize("bad", ["abc", "-1", "0/", "1.5", "123456789/0", "18446744073709551616"])
def test_a_bad_version_is_a_400_naming_the_header(patient, bad):
    status, _, body = patient.request(headers={"Nudge-Min-Version": bad})
    assert status == 400
    assert body["error"]["code"] == "invalid_field"
    assert "Nudge-Min-Version" in body["error"]["message"]
    status, _, body = patient.request(f"/x?nudge_v={bad}")
    assert status == 400 and "nudge_v" in body["error"]["message"]
