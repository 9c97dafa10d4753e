"""What the bank does (server/db.mjs of the Node backend, on Django's ORM): reads for the REST
API and writes that each run in one transaction and, inside it, ask for their event after the
commit (``events.after_commit``).

SQLite allows one writer at a time, and Django 3.2 opens its transactions DEFERRED: two threads
that both read and then write would fail with "database is locked" instead of waiting. The
server runs one process (bank/serve.py), so one lock around every write transaction serialises
them; reads never take it. On PostgreSQL, ``select_for_update()`` would do this job instead.
"""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, Q, Sum

from .events import after_commit
from .models import LOAN_TRANSITIONS, Customer, Loan, Transaction

TRANSACTIONS_SHOWN = 20


class BankError(Exception):
    """A request the bank refuses: ``status`` is the HTTP status, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_write_lock = threading.Lock()


@contextmanager
def write():
    """One write transaction, never two at once in this process (see the module's note)."""
    with _write_lock, transaction.atomic():
        yield


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """JavaScript's Date.toISOString(), as the Node backend answers: 2026-01-31T09:15:00.123Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def timestamp_ms() -> int:
    return int(now().timestamp() * 1000)


# ---- reads: one per React Query key -------------------------------------------------------

def profile(customer: Customer) -> dict:
    return {"id": customer.id, "username": customer.username, "name": customer.name,
            "email": customer.email, "phone": customer.phone}


def balance(customer_id: int) -> dict:
    customer = Customer.objects.get(pk=customer_id)
    return {"balanceCents": customer.balance_cents,
            "accruedInterestCents": customer.interest_cents,
            "currency": "USD",
            "updatedAt": iso(customer.updated_at)}


def _transaction_json(tx: Transaction) -> dict:
    return {"id": tx.id, "description": tx.description, "amountCents": tx.amount_cents,
            "createdAt": iso(tx.created_at)}


def transactions(customer_id: int) -> list[dict]:
    rows = Transaction.objects.filter(customer_id=customer_id).order_by("-id")
    return [_transaction_json(tx) for tx in rows[:TRANSACTIONS_SHOWN]]


def _loan_json(loan: Loan) -> dict:
    return {"id": loan.id, "purpose": loan.purpose, "amountCents": loan.amount_cents,
            "status": loan.status, "updatedAt": iso(loan.updated_at),
            "next": LOAN_TRANSITIONS[loan.status]}


def loans(customer_id: int) -> list[dict]:
    rows = Loan.objects.filter(customer_id=customer_id).order_by("id")
    return [_loan_json(loan) for loan in rows]


def loan_summary(customer_id: int) -> dict:
    approved = Q(status="approved")
    row = Loan.objects.filter(customer_id=customer_id).aggregate(
        active=Count("id", filter=approved),
        pending=Count("id", filter=Q(status="pending")),
        outstanding=Sum("amount_cents", filter=approved))
    return {"active": row["active"], "pending": row["pending"],
            "outstandingCents": row["outstanding"] or 0}


# ---- writes: one transaction each, the event after the commit -----------------------------

def _add_transaction(customer_id: int, description: str, amount_cents: int,
                     at: datetime | None = None) -> dict:
    """Moves money in (> 0) or out (< 0) of the account; call inside ``write()``."""
    at = at or now()
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise BankError(404, "no such user")
    new_balance = customer.balance_cents + amount_cents
    if new_balance < 0:
        raise BankError(422, "insufficient funds")
    Customer.objects.filter(pk=customer_id).update(balance_cents=new_balance, updated_at=at)
    tx = Transaction.objects.create(customer_id=customer_id, description=description,
                                    amount_cents=amount_cents, created_at=at)
    return {"transaction": _transaction_json(tx), "balanceCents": new_balance}


def pay(customer_id: int, payee: str, amount_cents: int) -> dict:
    """A card payment or transfer out of the account (``amount_cents`` > 0 is debited)."""
    with write():
        result = _add_transaction(customer_id, payee, -amount_cents)
        after_commit(customer_id, "transaction_happened", {"timestamp": timestamp_ms()})
    return result


def record(customer_id: int, description: str, amount_cents: int) -> dict:
    """Money in or out without a form: what the "simulate activity" switch produces."""
    with write():
        result = _add_transaction(customer_id, description, amount_cents)
        after_commit(customer_id, "transaction_happened", {"timestamp": timestamp_ms()})
    return result


def accrue_interest(customer_id: int) -> int:
    """Interest accrues daily and is posted as a transaction once a month, so accruing changes
    the balance card, not the transaction list. Returns the cents accrued."""
    with write():
        customer = Customer.objects.get(pk=customer_id)
        cents = max(1, round(customer.balance_cents * 0.0001))
        customer.interest_cents += cents
        customer.updated_at = now()
        customer.save(update_fields=["interest_cents", "updated_at"])
        after_commit(customer_id, "balance_updated", {"timestamp": timestamp_ms()})
    return cents


def set_loan_status(customer_id: int, loan_id: int, status: str) -> dict:
    """Moves a loan to ``status``. Approving pays the loan out into the balance and repaying
    takes it back, which is also a ``transaction_happened``."""
    with write():
        loan = Loan.objects.filter(pk=loan_id, customer_id=customer_id).first()
        if loan is None:
            raise BankError(404, f"no loan {loan_id}")
        if status not in LOAN_TRANSITIONS[loan.status]:
            raise BankError(409, f"loan {loan_id} is {loan.status} and cannot become {status}")
        delta = {"approved": loan.amount_cents, "repaid": -loan.amount_cents}.get(status, 0)
        # The loan row changes first, then the money: with nudge-cdc (which publishes in the
        # order rows changed) the events come in the same order as the two below.
        loan.status = status
        loan.updated_at = now()
        loan.save(update_fields=["status", "updated_at"])
        if delta:
            label = "paid out" if status == "approved" else "repaid"
            _add_transaction(customer_id, f"{loan.purpose} — loan {label}", delta)
        after_commit(customer_id, "loan_status_changed", {"loanId": loan_id, "status": status})
        if delta:
            after_commit(customer_id, "transaction_happened", {"timestamp": timestamp_ms()})
    return {"loan": _loan_json(loan)}


PROFILE_FIELDS = ("name", "email", "phone")


def update_profile(customer_id: int, changes: dict) -> dict:
    """``changes`` of ``name``, ``email``, ``phone`` (already validated)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not a profile field: {sorted(unknown)}")
    with write():
        Customer.objects.filter(pk=customer_id).update(**changes)
        after_commit(customer_id, "profile_updated")
        return profile(Customer.objects.get(pk=customer_id))


# ---- the demo's people --------------------------------------------------------------------

DEMO_USERS = [
    {
        "username": "alice", "password": "wonderland", "name": "Alice Martin",
        "email": "alice@example.com", "phone": "+1 555 0101", "balance_cents": 2_450_00,
        "transactions": [
            ("Salary — Acme Corp", 3_200_00),
            ("Rent — Maple Street", -1_100_00),
            ("Groceries — Green Market", -84_20),
            ("Coffee — Bean There", -4_80),
        ],
        "loans": [("Car loan", 12_000_00, "approved"), ("Home improvement", 5_000_00, "pending")],
    },
    {
        "username": "bob", "password": "builder", "name": "Bob Chen",
        "email": "bob@example.com", "phone": "+1 555 0102", "balance_cents": 1_980_50,
        "transactions": [
            ("Freelance invoice #42", 1_500_00),
            ("Hardware — Nuts & Bolts", -219_50),
            ("Phone bill", -45_00),
        ],
        "loans": [("Workshop equipment", 8_000_00, "pending")],
    },
]


def seed(users: list[dict] = DEMO_USERS) -> None:
    """The demo's starting point (the Node backend's): an opening balance a month ago, then one
    transaction every few days, and the loans. Sends no events: nobody is connected yet."""
    started = now()
    with write():
        for user in users:
            customer = Customer.objects.create(
                username=user["username"], password=make_password(user["password"]),
                name=user["name"], email=user["email"], phone=user["phone"],
                balance_cents=0, updated_at=started)
            history = user["transactions"]
            opening = user["balance_cents"] - sum(cents for _, cents in history)
            _add_transaction(customer.id, "Opening balance", opening, started - timedelta(days=30))
            for i, (description, cents) in enumerate(history):
                at = started - timedelta(days=3 * (len(history) - i) - 1.3)
                _add_transaction(customer.id, description, cents, at)
            for purpose, cents, status in user["loans"]:
                Loan.objects.create(customer=customer, purpose=purpose, amount_cents=cents,
                                    status=status, updated_at=started)


def random_activity(customer_id: int, tick: int) -> None:
    """One step of "simulate activity": every fourth tick interest accrues, otherwise a card
    purchase or (when money is short, or one time in five) money coming in."""
    if tick % 4 == 0:
        accrue_interest(customer_id)
        return
    low_balance = Customer.objects.get(pk=customer_id).balance_cents < 50_00
    description, low, high = random.choice(
        _INCOME if low_balance or random.random() < 0.2 else _MERCHANTS)
    record(customer_id, description, round(low + random.random() * (high - low)))


_MERCHANTS = [
    ("Coffee — Bean There", -3_80, -6_50),
    ("Groceries — Green Market", -18_00, -96_00),
    ("Metro card top-up", -20_00, -20_00),
    ("Bookshop — Chapter One", -9_99, -42_00),
    ("Lunch — Noodle Bar", -11_50, -24_00),
    ("Streaming subscription", -12_99, -12_99),
]
_INCOME = [
    ("Refund — Online store", 15_00, 60_00),
    ("Transfer from savings", 100_00, 250_00),
]
