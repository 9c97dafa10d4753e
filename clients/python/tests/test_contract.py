"""The publish contract, replayed by the Python emitter: every scenario of
tests/contract/publish/answers.json (the hub's answers and what an emitter must make of
them), and every body it sends valid under docs/api/publish.schema.json. The Node and C++
emitters replay the same file; the hub is tested against the same schema and golden
requests (tests/contract/publish.test.mjs, tests/unit/api/publish_contract_test.cpp)."""

from __future__ import annotations

import json

import jsonschema
import pytest

import nudge
from nudge.errors import NudgeHTTPError

from conftest import REPO

SCHEMA = json.loads((REPO / "docs/api/publish.schema.json").read_text())
SCENARIOS = json.loads((REPO / "tests/contract/publish/answers.json").read_text())["scenarios"]
REQUESTS = json.loads((REPO / "tests/contract/publish/requests.json").read_text())["cases"]
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def ids_of(body: dict) -> list[str]:
    return [event["id"] for event in body["events"]]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(fake_hub, sleeps, scenario):
    fake_hub.answers = [(a["status"], a["body"], a.get("headers", {})) for a in scenario["answers"]]
    client = nudge.Nudge(fake_hub.url, "contract-test-api-key")
    # ``fields`` (version, spread) go on every event and must be sent as given.
    fields = scenario.get("fields", {})
    events = [{"room": f"user_{n}", "event": "balance_updated", "data": {"n": n}, **fields}
              for n in range(scenario["events"])]
    outcome = scenario["outcome"]
    if "accepted" in outcome:
        assert client.emit_many(events) == outcome["accepted"]
    else:
        with pytest.raises(NudgeHTTPError) as caught:
            client.emit_many(events)
        assert (caught.value.status, caught.value.code) == (outcome["error"]["status"],
                                                            outcome["error"]["code"])
    assert len(fake_hub.requests) == outcome["requests"]
    # One wait per retry, none otherwise, each at least what the behaviour file says.
    assert len(sleeps) == outcome["requests"] - 1, sleeps
    for waited, least_ms in zip(sleeps, outcome.get("waits_at_least_ms", [])):
        assert waited * 1000 >= least_ms, (sleeps, outcome)
    bodies = [request["body"] for request in fake_hub.requests]
    for body in bodies:
        VALIDATOR.validate(body)
    # A retry is the same request: the same events with the same ids.
    assert all(ids_of(body) == ids_of(bodies[0]) for body in bodies)
    assert len(set(ids_of(bodies[0]))) == scenario["events"]
    assert all(fields_of(event) == fields for body in bodies for event in body["events"])


def fields_of(event: dict) -> dict:
    return {key: event[key] for key in ("version", "spread") if key in event}


def _carries_fields(case: dict) -> bool:
    body = case.get("body")
    if not isinstance(body, dict):
        return False
    events = body.get("events", [body])
    return (isinstance(events, list)
            and any(isinstance(e, dict) and ("version" in e or "spread" in e) for e in events)
            and (case["status"] == 202 or case["field"].endswith(("version", "spread"))))


# The golden requests that carry ``version`` or ``spread``: the emitter validates both as the
# hub does, so what the hub takes is sent as given, and what the hub refuses with a 400 naming
# the field is refused here first (NudgeValidationError), naming the same field.
FIELD_CASES = [case for case in REQUESTS if _carries_fields(case)]


def test_the_golden_requests_carry_version_and_spread_cases():
    assert any(case["status"] == 202 for case in FIELD_CASES)
    assert any(case["status"] == 400 and case["field"].endswith("version") for case in FIELD_CASES)
    assert any(case["status"] == 400 and case["field"].endswith("spread") for case in FIELD_CASES)


def _send_golden(client: nudge.Nudge, body: dict) -> int:
    if "events" in body:
        return client.emit_many(body["events"])
    return client.emit(body.get("room", body.get("rooms")), body["event"], body.get("data"),
                       body.get("except"), **fields_of(body))


@pytest.mark.parametrize("case", FIELD_CASES, ids=[c["name"] for c in FIELD_CASES])
def test_golden_request_with_version_or_spread(fake_hub, case):
    client = nudge.Nudge(fake_hub.url, "contract-test-api-key")
    body = case["body"]
    if case["status"] == 202:
        _send_golden(client, body)
        [request] = fake_hub.requests
        VALIDATOR.validate(request["body"])
        sent = request["body"].get("events", [request["body"]])
        assert [fields_of(e) for e in sent] == [fields_of(e) for e in body.get("events", [body])]
    else:
        with pytest.raises(nudge.NudgeValidationError) as caught:
            _send_golden(client, body)
        assert str(caught.value).startswith(case["field"])
        assert fake_hub.requests == []


def test_every_call_shape_sends_a_body_the_schema_accepts(fake_hub):
    client = nudge.Nudge(fake_hub.url, "contract-test-api-key")
    client.emit("user_1", "balance_updated")
    client.emit(["user_1", "team_7"], "task_moved", {"id": 42}, except_=["user_2"])
    client.emit_event("123", "balance_updated", {"amount": 5})
    client.emit_many([{"rooms": ["a", "b"], "event": "e", "data": None, "id": "given-id"}])
    assert len(fake_hub.requests) == 4
    for request in fake_hub.requests:
        VALIDATOR.validate(request["body"])
