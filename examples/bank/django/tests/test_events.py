"""Each action's events leave after its transaction commits, through the seed's
utils/realtime.py and nudge's channel layer to the real hub: when an event is sent, a refetch
(another connection) already reads the new rows; a rolled-back action sends nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import REPO
from nudge.channels import NudgeChannelLayer

ALICE = 1


class Recording(NudgeChannelLayer):
    """The real layer, to the real hub, noting for each group_send what a refetch (another
    database connection) reads at that moment."""

    log: list[tuple[str, str, dict, int]] = []

    async def group_send(self, group, message):
        seen = {}
        reader = threading.Thread(target=lambda: seen.update(cents=_committed_balance()))
        reader.start()
        reader.join()
        self.log.append((group, message["event"], message["metadata"], seen["cents"]))
        await super().group_send(group, message)


def _committed_balance() -> int:
    from django.db import connection

    from bank.models import Customer

    try:  # this thread's own connection: it sees committed rows only
        return Customer.objects.get(pk=ALICE).balance_cents
    finally:
        connection.close()


@pytest.fixture(scope="session")
def recording(bank):
    from channels.layers import channel_layers
    from django.test import override_settings

    layers = {"default": {"BACKEND": f"{__name__}.Recording", "CONFIG": {"retries": 0}}}
    with override_settings(CHANNEL_LAYERS=layers):
        assert channel_layers.backends == {}, "the layer is made from the new setting"
        yield Recording.log


@pytest.fixture
def sent(bank, recording, caplog):
    """The events published during the test; afterwards, the hub must have taken them all (an
    event it refused would be logged on the ``bank`` logger)."""
    settle()
    recording.clear()
    yield recording
    settle()
    logged = caplog.get_records("call") + caplog.get_records("teardown")
    assert [r.getMessage() for r in logged if r.name == "bank"] == []


def settle() -> None:
    """Waits until every event queued so far has gone to the hub."""
    from bank import events

    events.drain()


def balance(accounts):
    return accounts.balance(ALICE)["balanceCents"]


def test_a_payment_is_announced_once_its_rows_are_committed(bank, sent):
    before = balance(bank)
    result = bank.pay(ALICE, "Corner Bakery", 12_34)
    settle()
    assert result["balanceCents"] == before - 12_34
    [(group, event, metadata, seen)] = sent
    assert (group, event, sorted(metadata)) == ("user_1", "transaction_happened", ["timestamp"])
    assert seen == before - 12_34, "the event left before a refetch could read the payment"


def test_a_refused_payment_rolls_back_and_says_nothing(bank, sent):
    before = balance(bank)
    with pytest.raises(bank.BankError) as refused:
        bank.pay(ALICE, "Yacht", 100_000_00)
    assert (refused.value.status, refused.value.message) == (422, "insufficient funds")
    settle()
    assert sent == []
    assert balance(bank) == before


def test_an_outer_transaction_that_rolls_back_sends_nothing(bank, sent):
    from django.db import transaction

    before = balance(bank)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            bank.pay(ALICE, "Never happened", 1_00)
            raise RuntimeError("the caller gives up")
    settle()
    assert sent == []
    assert balance(bank) == before


def test_a_loan_payout_sends_both_events_in_order_after_the_commit(bank, sent):
    from bank.models import Loan

    loan = Loan.objects.create(customer_id=ALICE, purpose="Test loan", amount_cents=1_000_00,
                               status="pending", updated_at=bank.now())
    before = balance(bank)
    bank.set_loan_status(ALICE, loan.id, "approved")
    settle()
    assert [(event, metadata) for _, event, metadata, _ in sent][:1] == [
        ("loan_status_changed", {"loanId": loan.id, "status": "approved"})]
    assert [event for _, event, _, _ in sent] == ["loan_status_changed", "transaction_happened"]
    assert {seen for *_, seen in sent} == {before + 1_000_00}


def test_with_bank_emits_off_the_app_sends_nothing(bank, sent):
    """`serve.py --no-emits` (make demo DB=postgres): nudge-cdc makes the events instead. A
    payment with emits on afterwards is the marker: it is the only event recorded."""
    from django.test import override_settings

    before = balance(bank)
    with override_settings(BANK_EMITS=False):
        bank.pay(ALICE, "Quiet shop", 1_00)
        bank.update_profile(ALICE, {"phone": "+1 555 0111"})
    bank.pay(ALICE, "Marker shop", 2_00)
    settle()
    assert [(event, seen) for _, event, _, seen in sent] == [
        ("transaction_happened", before - 3_00)]


def test_switching_the_simulation_off_stops_its_events(bank, sent):
    from bank.simulate import simulator

    assert simulator.set(ALICE, True) is True
    try:
        deadline = threading.Event()
        for _ in range(500):  # up to 10 s on a loaded machine; typically 0.1 s
            if len(sent) >= 4:
                break
            deadline.wait(0.02)
        assert len(sent) >= 4, f"only {len(sent)} simulated events"
    finally:
        assert simulator.set(ALICE, False) is False
    settle()
    stopped_at = len(sent)
    threading.Event().wait(0.2)  # ten periods of the simulator, were it still running
    settle()
    assert len(sent) == stopped_at
    assert {event for _, event, _, _ in sent} == {"transaction_happened", "balance_updated"}


def test_realtime_py_is_the_seeds_code_unchanged():
    """The same code as clients/python/tests/utils/realtime.py, which that suite runs."""
    def code(path: Path) -> list[str]:
        lines = path.read_text().splitlines()
        return lines[lines.index("# utils/realtime.py"):]

    ours = Path(__file__).resolve().parents[1] / "utils" / "realtime.py"
    assert code(ours) == code(REPO / "clients" / "python" / "tests" / "utils" / "realtime.py")
