"""The seed's ``utils`` package: ``realtime.py`` is its Phase 3 code, verbatim (re-flowed)."""
