"""The bank's data: customers with their balance, transactions and loans (the Node backend's
schema, server/db.mjs, as Django models). Amounts are integer cents."""

from django.db import models

# Loan statuses and the moves the demo's "bank decision" buttons may make.
LOAN_TRANSITIONS = {
    "pending": ["approved", "rejected"],
    "approved": ["repaid"],
    "rejected": [],
    "repaid": [],
}


class Customer(models.Model):
    """A bank customer: the login (``password`` is a Django password hash) and the account."""

    username = models.CharField(max_length=40, unique=True)
    password = models.CharField(max_length=128)
    name = models.CharField(max_length=60)
    email = models.CharField(max_length=100)
    phone = models.CharField(max_length=30)
    balance_cents = models.BigIntegerField(default=0)
    # Interest accrues daily and is posted once a month, so it changes the balance card only.
    interest_cents = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.username


class Transaction(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="transactions")
    description = models.CharField(max_length=100)
    amount_cents = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "id"], name="transactions_by_customer")]


class Loan(models.Model):
    STATUSES = [(status, status) for status in LOAN_TRANSITIONS]

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="loans")
    purpose = models.CharField(max_length=60)
    amount_cents = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=STATUSES)
    updated_at = models.DateTimeField()
