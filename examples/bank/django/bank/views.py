"""The bank's REST API, the same routes and JSON as the Node backend (server/api.mjs), so the one
React front end runs on either. Reads are plain queries for React Query; every action writes in
one transaction and its event leaves after the commit (bank/accounts.py). Events carry no data:
the browsers refetch the endpoints below.

  POST /api/login              {username, password} -> {token, user}
  GET  /api/config             {hubUrl}: where browsers connect
  GET  /api/balance            ['balance']
  GET  /api/transactions       ['transactions']
  GET  /api/loans              ['loans']
  GET  /api/loans/summary      ['loan-summary']
  GET  /api/profile            ['profile']
  POST /api/payments           {payee, amountCents} -> transaction_happened
  POST /api/loans/:id/status   {status} -> loan_status_changed (+ transaction_happened)
  PATCH /api/profile           {name?, email?, phone?} -> profile_updated
  GET|POST /api/simulate       {on}: background activity for this customer every ~2 s

Errors answer ``{"error": "<message>"}`` with the HTTP status, as the front end expects.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import accounts, tokens
from .accounts import BankError
from .models import LOAN_TRANSITIONS, Customer
from .simulate import simulator

log = logging.getLogger("bank")

MAX_PAYMENT_CENTS = 100_000_00
# A loan id beyond SQLite's INTEGER cannot name a loan.
MAX_ID = 2**63 - 1


def _reply(status: int, body: dict, versioned: bool = False) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    # A read of a version-keyed URL (?nudge_v=) names a state at least that new: a cache in
    # front may keep it (nudge.django.fresh sets its max-age). Everything else is never stored.
    if not (versioned and status == 200):
        response["Cache-Control"] = "no-store"
    return response


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def read_json(request: HttpRequest) -> dict:
    """The request body as a JSON object (an empty body is ``{}``)."""
    try:
        body = request.body
    except RequestDataTooBig:
        raise BankError(413, "body too large") from None
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:  # a chunked body has no Content-Length
        raise BankError(413, "body too large")
    try:
        value = json.loads(body.decode() or "{}", parse_constant=_reject_constant)
    except ValueError:  # also UnicodeDecodeError
        value = None
    if not isinstance(value, dict):
        raise BankError(400, "the body must be a JSON object")
    return value


def _customer_id(request: HttpRequest) -> int:
    match = re.fullmatch(r"Bearer (.+)", request.headers.get("Authorization", ""))
    customer_id = match and tokens.customer_id(match.group(1))
    if not customer_id or not Customer.objects.filter(pk=customer_id).exists():
        raise BankError(401, "log in first")
    return customer_id


def _route(**handlers: Callable[..., tuple[int, dict] | dict]) -> Callable[..., JsonResponse]:
    """One path's view: ``GET=handler, POST=...``. A handler returns the body (200) or
    ``(status, body)``; a ``BankError`` becomes its error answer; another method is a 404,
    like an unknown path."""

    @csrf_exempt  # the API authenticates with a bearer token, never a cookie
    def view(request: HttpRequest, **kwargs: int) -> JsonResponse:
        try:
            handler = handlers.get(request.method)
            if handler is None:
                raise BankError(404, f"no route {request.method} {request.path}")
            result = handler(request, **kwargs)
        except BankError as error:
            return _reply(error.status, {"error": error.message})
        status, body = result if isinstance(result, tuple) else (200, result)
        return _reply(status, body, request.method == "GET" and "nudge_v" in request.GET)

    return view


# ---- handlers -----------------------------------------------------------------------------

def _config(request: HttpRequest) -> dict:
    config = {"hubUrl": settings.BANK_PUBLIC_HUB_URL}
    if settings.BANK_FRESH_MODE == "url":  # a cache in front keys on ?nudge_v= (docs/fresh-data.md)
        config["freshMode"] = "url"
    return config


def _login(request: HttpRequest) -> dict:
    body = read_json(request)
    username, password = body.get("username"), body.get("password")
    customer = (Customer.objects.filter(username=username.strip().lower()).first()
                if isinstance(username, str) else None)
    if customer is None:
        make_password(password if isinstance(password, str) else "")  # same time as a miss
        raise BankError(401, "wrong username or password")
    if not isinstance(password, str) or not check_password(password, customer.password):
        raise BankError(401, "wrong username or password")
    return {"token": tokens.issue(customer.id), "user": accounts.profile(customer)}


def _balance(request: HttpRequest) -> dict:
    return accounts.balance(_customer_id(request))


def _transactions(request: HttpRequest) -> dict:
    return {"transactions": accounts.transactions(_customer_id(request))}


def _loans(request: HttpRequest) -> dict:
    return {"loans": accounts.loans(_customer_id(request))}


def _loan_summary(request: HttpRequest) -> dict:
    return accounts.loan_summary(_customer_id(request))


def _profile(request: HttpRequest) -> dict:
    return accounts.profile(Customer.objects.get(pk=_customer_id(request)))


def _whole_number(value: object) -> int | None:
    """JavaScript's Number.isInteger: 12 and 12.0 are whole, true and "12" are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _pay(request: HttpRequest) -> tuple[int, dict]:
    customer_id = _customer_id(request)
    body = read_json(request)
    payee, amount = body.get("payee"), _whole_number(body.get("amountCents"))
    if not isinstance(payee, str) or not payee.strip() or len(payee) > 60:
        raise BankError(400, "payee: 1 to 60 characters")
    if amount is None or not 1 <= amount <= MAX_PAYMENT_CENTS:
        raise BankError(400, f"amountCents: a whole number of cents from 1 to {MAX_PAYMENT_CENTS}")
    return 201, accounts.pay(customer_id, payee.strip(), amount)


def _loan_status(request: HttpRequest, loan_id: int) -> dict:
    customer_id = _customer_id(request)
    status = read_json(request).get("status")
    if not isinstance(status, str) or status not in LOAN_TRANSITIONS:
        raise BankError(400, f"status: one of {', '.join(LOAN_TRANSITIONS)}")
    if loan_id > MAX_ID:
        raise BankError(404, f"no loan {loan_id}")
    return accounts.set_loan_status(customer_id, loan_id, status)


PROFILE_CHECKS = {
    "name": lambda v: isinstance(v, str) and len(v.strip()) >= 1 and len(v) <= 60,
    "email": lambda v: isinstance(v, str) and bool(re.fullmatch(r"[^@\s]+@[^@\s]+", v))
    and len(v) <= 100,
    "phone": lambda v: isinstance(v, str) and len(v) <= 30,
}


def _edit_profile(request: HttpRequest) -> dict:
    customer_id = _customer_id(request)
    changes = read_json(request)
    bad = next((field for field, value in changes.items()
                if field not in PROFILE_CHECKS or not PROFILE_CHECKS[field](value)), None)
    if bad is not None:
        raise BankError(400, f"{bad}: not a valid value")
    if not changes:
        raise BankError(400, "give name, email or phone")
    return accounts.update_profile(customer_id, {f: v.strip() for f, v in changes.items()})


def _simulation(request: HttpRequest) -> dict:
    return {"on": simulator.is_on(_customer_id(request))}


def _switch_simulation(request: HttpRequest) -> dict:
    customer_id = _customer_id(request)
    on = read_json(request).get("on")
    if not isinstance(on, bool):
        raise BankError(400, "on: true or false")
    return {"on": simulator.set(customer_id, on)}


config = _route(GET=_config)
login = _route(POST=_login)
balance = _route(GET=_balance)
transactions = _route(GET=_transactions)
loans = _route(GET=_loans)
loan_summary = _route(GET=_loan_summary)
profile = _route(GET=_profile, PATCH=_edit_profile)
payments = _route(POST=_pay)
loan_status = _route(POST=_loan_status)
simulate = _route(GET=_simulation, POST=_switch_simulation)
no_route = _route()


def server_error(request: HttpRequest) -> JsonResponse:
    """handler500: Django has logged the exception on ``django.request``."""
    return _reply(500, {"error": "internal error"})
