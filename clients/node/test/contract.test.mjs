// The publish contract, replayed by the Node emitter: every scenario of
// tests/contract/publish/answers.json (the hub's answers and what an emitter must make of them),
// and every body it sends valid under docs/api/publish.schema.json. The Python and C++ emitters
// replay the same file; the hub is tested against the same schema and golden requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmitter } from '../dist/index.js';
import { scriptedServer, reply, accepted } from './helpers.mjs';
import { requests, scenarios, validate, explain } from '../../../tests/contract/lib.mjs';

const fakeClock = () => {
  let time = 0;
  const waits = [];
  return { now: () => time, sleep: async (ms) => { waits.push(ms); time += ms; }, waits };
};

// One wait per retry, none otherwise, each at least what the behaviour file says.
function checkWaits(waits, outcome) {
  assert.equal(waits.length, outcome.requests - 1, `waits ${waits}`);
  (outcome.waits_at_least_ms ?? []).forEach((least, n) =>
    assert.ok(waits[n] >= least, `wait ${n} was ${waits[n]} ms, under ${least} ms`));
}

const idsOf = (body) => (body.events ?? [body]).map((event) => event.id);

function checkBodies(server) {
  const bodies = server.requests.map((r) => JSON.parse(r.body));
  for (const body of bodies) assert.ok(validate.request(body), explain(validate.request));
  return bodies;
}

for (const scenario of scenarios) {
  test(`contract: ${scenario.name}`, async () => {
    const server = await scriptedServer(
      scenario.answers.map((a) => reply(a.status, a.body, a.headers ?? {})));
    try {
      const clock = fakeClock();
      const emitter = createEmitter({ url: server.url, apiKey: 'contract-test-api-key', clock });
      // `fields` (version, spread) go on every event and must be sent as given.
      const events = Array.from({ length: scenario.events },
        (_, n) => ({ room: `user_${n}`, event: 'balance_updated', data: { n }, ...scenario.fields }));
      const { outcome } = scenario;
      if ('accepted' in outcome) {
        assert.equal(await emitter.emitMany(events), outcome.accepted);
      } else {
        await assert.rejects(emitter.emitMany(events), (error) => {
          assert.equal(error.status, outcome.error.status);
          assert.equal(error.hubCode, outcome.error.code);
          return true;
        });
      }
      assert.equal(server.requests.length, outcome.requests);
      checkWaits(clock.waits, outcome);
      const bodies = checkBodies(server);
      // A retry is the same request: the same events with the same ids.
      for (const body of bodies) assert.deepEqual(idsOf(body), idsOf(bodies[0]));
      for (const body of bodies) {
        for (const event of body.events ?? [body]) assert.deepEqual(fieldsOf(event), scenario.fields ?? {});
      }
      assert.equal(new Set(idsOf(bodies[0])).size, scenario.events);
    } finally {
      await server.close();
    }
  });
}

test('contract: every call shape sends a body the schema accepts', async () => {
  const server = await scriptedServer([accepted]);
  try {
    const emitter = createEmitter({ url: server.url, apiKey: 'contract-test-api-key' });
    await emitter.emit('user_1', 'balance_updated');
    await emitter.emit(['user_1', 'team_7'], 'task_moved', { id: 42 }, { except: 'user_2' });
    await emitter.to('user_123').emit('balance_updated', { amount: 5 });
    await emitter.emitMany([{ rooms: ['a', 'b'], event: 'e', data: null, id: 'given-id' }]);
    assert.equal(server.requests.length, 4);
    checkBodies(server);
  } finally {
    await server.close();
  }
});

// The golden requests that carry `version` or `spread` (tests/contract/publish/requests.json):
// the emitter validates both as the hub does, so what the hub takes is sent as given, and what
// the hub refuses with a 400 naming the field is refused here first, naming the same field.
const withFields = requests.filter((c) => c.body !== undefined && typeof c.body === 'object' &&
  !Array.isArray(c.body) && (c.body.events ?? [c.body]).some((e) => e !== null &&
    typeof e === 'object' && ('version' in e || 'spread' in e)) &&
  (c.status === 202 || /(version|spread)$/.test(c.field ?? '')));

const fieldsOf = (event) => Object.fromEntries(
  ['version', 'spread'].filter((key) => key in event).map((key) => [key, event[key]]));

// The golden body sent through the emitter's own API: emit() for one event, emitMany() for a batch.
function sendGolden(emitter, body) {
  if (body.events === undefined) {
    const { room, rooms, event, data, except } = body;
    return emitter.emit(room ?? rooms, event, data, { ...(except ? { except } : {}), ...fieldsOf(body) });
  }
  return emitter.emitMany(body.events);
}

test('contract: the golden requests carry version and spread cases', () => {
  assert.ok(withFields.some((c) => c.status === 202), 'an accepted case');
  assert.ok(withFields.some((c) => c.status === 400 && /version$/.test(c.field)), 'a bad version');
  assert.ok(withFields.some((c) => c.status === 400 && /spread$/.test(c.field)), 'a bad spread');
});

for (const golden of withFields) {
  test(`contract: version/spread golden request "${golden.name}"`, async () => {
    const server = await scriptedServer([accepted]);
    try {
      const emitter = createEmitter({ url: server.url, apiKey: 'contract-test-api-key', clock: fakeClock() });
      if (golden.status === 202) {
        await sendGolden(emitter, golden.body);
        const [sent] = checkBodies(server);
        const given = (golden.body.events ?? [golden.body]).map(fieldsOf);
        assert.deepEqual((sent.events ?? [sent]).map(fieldsOf), given);
      } else {
        await assert.rejects(sendGolden(emitter, golden.body), (error) => {
          assert.equal(error.code, 'invalid_argument');
          assert.ok(error.message.startsWith(golden.field), `${error.message} names ${golden.field}`);
          return true;
        });
        assert.equal(server.requests.length, 0);
      }
    } finally {
      await server.close();
    }
  });
}
