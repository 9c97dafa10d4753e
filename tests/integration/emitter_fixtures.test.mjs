// The emitter captures the C++ decoder is tested on (tests/unit/broker/fixtures/
// socketio_emitter.txt) must be what the installed @socket.io/redis-emitter publishes: after an
// upgrade this fails until `node tests/unit/broker/fixtures/gen-emitter-fixtures.mjs` is rerun.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { captureAll, fixturesFile } from "../unit/broker/fixtures/gen-emitter-fixtures.mjs";

test("committed emitter captures match the installed @socket.io/redis-emitter", () => {
  const { captured, text } = captureAll();
  assert.ok(captured.length >= 20);
  assert.equal(readFileSync(fixturesFile, "utf8"), text);
});
