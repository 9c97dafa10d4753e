"""Serves the built front end (vite build's output, ``BANK_STATIC_DIR``): the same files the Node
backend serves. A path that is not a file gets index.html, so a reload on any client route works;
Vite fingerprints everything under assets/, so those may be cached for good."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils._os import safe_join

TYPES = {".js": "text/javascript", ".html": "text/html; charset=utf-8", ".css": "text/css"}


def _not_found() -> HttpResponse:
    return HttpResponseNotFound("not found\n", content_type="text/plain")


def serve(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _not_found()
    root = Path(settings.BANK_STATIC_DIR)
    try:
        file = Path(safe_join(root, request.path.lstrip("/")))
    except (SuspiciousFileOperation, ValueError):  # outside the root, or a NUL byte
        return _not_found()
    if not file.is_file():
        file = root / "index.html"
        if not file.is_file():
            return _not_found()
    assets = root / "assets"
    immutable = assets in file.parents
    content_type = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
    response = FileResponse(file.open("rb"))
    # After construction: FileResponse replaces any text/html type with its own guess.
    response["Content-Type"] = content_type or "application/octet-stream"
    response["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
    return response
