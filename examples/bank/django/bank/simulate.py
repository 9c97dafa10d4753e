""""Simulate activity": while it is on for a customer, something happens on their account every
``BANK_SIMULATE_SECONDS`` (a purchase, money coming in, or interest), each followed after its
commit by the event the seed names for it. One thread per customer with the switch on; the state
lives in this process, which is why the server runs one process (bank/serve.py)."""

from __future__ import annotations

import itertools
import logging
import threading

from django.conf import settings
from django.db import connection

from . import accounts, events

log = logging.getLogger("bank")


class Simulator:
    def __init__(self, interval_seconds: float) -> None:
        self._interval = interval_seconds
        self._running: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()
        self._ticks = itertools.count(1)  # shared by all customers, like the Node backend's

    def is_on(self, customer_id: int) -> bool:
        with self._lock:
            return customer_id in self._running

    def set(self, customer_id: int, on: bool) -> bool:
        """Switches the activity on or off; when it returns ``False`` nothing more happens on
        the account and every event of the last step has been sent."""
        with self._lock:
            running = self._running.get(customer_id)
            if on and running is None:
                stop = threading.Event()
                thread = threading.Thread(target=self._run, args=(customer_id, stop), daemon=True,
                                          name=f"simulate-{customer_id}")
                self._running[customer_id] = (thread, stop)
                thread.start()
                return True
            if not on and running is not None:
                del self._running[customer_id]
        if not on and running is not None:
            thread, stop = running
            stop.set()
            thread.join()
            events.drain()
        return on

    def _run(self, customer_id: int, stop: threading.Event) -> None:
        try:
            while not stop.wait(self._interval):
                try:
                    accounts.random_activity(customer_id, next(self._ticks))
                except Exception as error:  # noqa: BLE001 - the next tick may well succeed
                    log.warning("simulate: user %s: %s", customer_id, error)
        finally:
            connection.close()  # this thread's own database connection


simulator = Simulator(settings.BANK_SIMULATE_SECONDS)
