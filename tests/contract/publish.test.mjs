// The publish contract against the real hub: every golden request of
// tests/contract/publish/requests.json gets the status, error code and field it names, every
// answer the hub gives is valid under docs/api/publish.schema.json, and the schema itself agrees
// with the goldens (what it accepts, the hub accepts). The emitters' tests replay
// tests/contract/publish/answers.json; the hub's unit test reads the same requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, emit } from '../integration/lib/hub.mjs';
import { requests, scenarios, validate, explain } from './lib.mjs';

let hub;
before(async () => { hub = await startHub({ recovery: true }); });
after(async () => { await hub.stop(); });

test('the schema accepts exactly the golden requests marked so', () => {
  for (const c of requests.filter((r) => !('raw' in r))) {
    assert.equal(validate.request(c.body), c.schema, `${c.name}: ${explain(validate.request)}`);
  }
});

test('every answer in the emitters\' behaviour file is valid under the schema', () => {
  for (const s of scenarios) {
    for (const answer of s.answers) {
      const check = answer.status === 202 ? validate.accepted : validate.error;
      assert.ok(check(answer.body), `${s.name}: ${explain(check)}`);
    }
  }
});

for (const c of requests) {
  test(`hub: ${c.name} → ${c.status}${c.code ? ` ${c.code}` : ''}`, async () => {
    const r = 'raw' in c ? await emit(hub, c.raw, { raw: true }) : await emit(hub, c.body);
    assert.equal(r.status, c.status, r.text);
    if (c.status === 202) {
      assert.ok(validate.accepted(r.json), explain(validate.accepted));
      assert.equal(r.json.accepted, c.accepted);
      assert.equal(r.json.events.length, c.accepted);
    } else {
      assert.ok(validate.error(r.json), explain(validate.error));
      assert.equal(r.json.error.code, c.code);
      assert.ok(r.json.error.message.startsWith(`${c.field}:`), `"${r.json.error.message}" names ${c.field}`);
    }
  });
}
