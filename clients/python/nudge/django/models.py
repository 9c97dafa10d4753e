"""The outbox: one row per durable event, written in the transaction that made the change.

A row holds the hub's JSON for one event (``room``/``rooms``, ``event``, ``data``,
``except``), without its ``id``: the relay sends the row's primary key as the event's
idempotency id, so a row published twice (the relay died between the hub's 202 and the
delete) is delivered once. Primary keys are never reused (SQLite AUTOINCREMENT, Postgres and
MySQL sequences), and rows are deleted once the hub has taken them.
"""

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "nudge_outbox"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"nudge outbox event {self.id}"


class VersionCounter(models.Model):
    """The version of events on databases without a WAL position (nudge.django.versions): one
    row, bumped in the transaction of each emit, so its value commits with the change."""

    id = models.IntegerField(primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "nudge_version"

    def __str__(self) -> str:
        return f"nudge version {self.value}"
