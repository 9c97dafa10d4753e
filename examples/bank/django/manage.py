#!/usr/bin/python3
"""Django's command line for the bank demo (e.g. makemigrations); serve.py runs the demo."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # The repository's nudge package (clients/python), as serve.py uses it.
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "clients" / "python"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
