"""The HS256 JWTs the bank issues at login (PyJWT). The hub verifies the same tokens with the same
secret, its --jwt-secret: ``sub`` is the customer id, so the browser's socket joins the room
``user_<id>`` that ``emit_event`` sends to."""

from __future__ import annotations

import time

import jwt
from django.conf import settings


def issue(customer_id: int) -> str:
    issued = int(time.time())
    claims = {"sub": str(customer_id), "iat": issued, "exp": issued + settings.BANK_TOKEN_TTL}
    return jwt.encode(claims, settings.BANK_JWT_SECRET, algorithm="HS256")


def customer_id(token: str) -> int | None:
    """The token's customer id, or ``None`` when it is not ours, was tampered with or expired."""
    try:
        claims = jwt.decode(token, settings.BANK_JWT_SECRET, algorithms=["HS256"],
                            options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return None
    sub = claims["sub"]
    return int(sub) if isinstance(sub, str) and sub.isdigit() and len(sub) < 19 else None
