"""Exactly once on the wire: event ids let the real hub drop a retried event."""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import nudge
from conftest import API_KEY


def test_the_same_batch_posted_twice_is_delivered_once(client, listen, new_user):
    user = new_user()
    listener = listen(user)
    batch = [{"room": f"user_{user}", "event": "n", "data": {"i": i}, "id": f"{user}-{i}"}
             for i in range(3)]
    assert client.emit_many(batch) == 3
    assert client.emit_many(batch) == 3  # accepted (202) both times
    assert [m["args"][0]["i"] for m in listener.take(3)] == [0, 1, 2]
    assert listener.quiet() == []


class SlowFirstAnswerProxy:
    """Forwards every request to the hub; holds the first answer past the client's timeout,
    as a proxy or a hub under load would. The hub has taken the events by then."""

    def __init__(self, hub_url: str, hold: float) -> None:
        target = urlsplit(hub_url)
        self.requests = 0
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    proxy.requests += 1
                    first = proxy.requests == 1
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                upstream.request("POST", self.path, body,
                                 {k: v for k, v in self.headers.items() if k.lower() != "host"})
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                if first:
                    time.sleep(hold)
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up on this one

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_retry_after_a_timeout_is_delivered_once(hub, listen, new_user):
    user = new_user()
    listener = listen(user)
    proxy = SlowFirstAnswerProxy(hub.url, hold=1.5)
    try:
        with nudge.Nudge(proxy.url, API_KEY, timeout=0.5, backoff=0.05) as client:
            assert client.emit(f"user_{user}", "balance_updated", {"n": 1}) == 1
        assert proxy.requests >= 2  # the first attempt timed out and was retried
        assert listener.next()["args"][0] == {"n": 1}
        assert listener.quiet(1.0) == []
    finally:
        proxy.close()


def test_without_ids_a_retry_after_a_timeout_is_delivered_twice(hub, listen, new_user):
    # What idempotent=True prevents: the at-least-once behaviour of a plain retry.
    user = new_user()
    listener = listen(user)
    proxy = SlowFirstAnswerProxy(hub.url, hold=1.5)
    try:
        with nudge.Nudge(proxy.url, API_KEY, timeout=0.5, backoff=0.05, idempotent=False) as client:
            client.emit(f"user_{user}", "balance_updated", {"n": 1})
        assert [m["args"][0] for m in listener.take(2)] == [{"n": 1}, {"n": 1}]
    finally:
        proxy.close()
