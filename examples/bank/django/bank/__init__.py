"""The bank demo's Django app: models, REST API, login issuing the hub's JWTs, after-commit
events through the seed's ``utils/realtime.py`` and nudge's channel layer."""
