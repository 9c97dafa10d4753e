"""The ``nudge.django`` Django app: only needed for durable events (the outbox table).

    INSTALLED_APPS = [..., "nudge.django"]      # then: manage.py migrate

Its label is ``nudge`` (the table is ``nudge_outbox``); plain after-commit events work
without it.
"""

from django.apps import AppConfig


class NudgeConfig(AppConfig):
    name = "nudge.django"
    label = "nudge"
    verbose_name = "nudge outbox"
    default_auto_field = "django.db.models.BigAutoField"
