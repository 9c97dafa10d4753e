// The performance figures in README.md and docs/performance.md are the benchmark reports' own:
// the committed blocks must be exactly what tools/perf-summary.mjs generates from
// bench/RESULTS.md and bench/scaleout/RESULTS.md, and the script must notice a changed report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { REPORTS, TARGETS, SummaryError, figures, generate, loadReports, parseReport } from '../../tools/perf-summary.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = join(root, 'tools/perf-summary.mjs');
const run = promisify(execFile);

// A copy of the reports and the two target files, to change without touching the tree.
function scratchCopy(t) {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-perf-summary-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of [...REPORTS, ...Object.values(TARGETS)]) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(root, file), join(dir, file));
  }
  return dir;
}

function edit(dir, file, from, to) {
  const text = readFileSync(join(dir, file), 'utf8');
  assert.ok(text.includes(from), `${file} no longer contains ${JSON.stringify(from)}`);
  writeFileSync(join(dir, file), text.replace(from, to));
}

test('README.md and docs/performance.md carry the figures the reports hold', () => {
  for (const [file, { current, expected }] of Object.entries(generate())) {
    assert.equal(current, expected, `${file}'s performance block is stale: run \`node tools/perf-summary.mjs\``);
  }
});

test('--check passes on the tree as committed', async () => {
  const { stdout, stderr } = await run(process.execPath, [script, '--check'], { cwd: root });
  assert.equal(stdout + stderr, '');
});

test('the headline figures are the cells of the reports\' tables', () => {
  const reports = loadReports();
  const f = figures(reports);
  const main = readFileSync(join(root, 'bench/RESULTS.md'), 'utf8');
  const scaleout = readFileSync(join(root, 'bench/scaleout/RESULTS.md'), 'utf8');
  const memoryRow = main.split('\n').find((l) => l.startsWith(`| ${f.clients} |`) && l.endsWith('× |') && l.includes(' B |'));
  assert.ok(memoryRow, 'no idle-memory row for the headline client count');
  assert.ok(memoryRow.includes(`| ${f.memory.nudged} |`) && memoryRow.includes(`| ${f.memory.peer} |`), memoryRow);
  assert.ok(main.includes(`Floor at ${f.clients}: ${f.broadcast.floor} CPU per send()`));
  assert.ok(scaleout.includes(`| idle memory per client (RSS of all hubs) | ${f.scaleout.memory.nudged} |`));
  // The connect storm is the one figure converted (ms → s): from the report's only storm row.
  const storm = /\| ([0-9.]+) ms \| ([0-9.]+) ms \| [0-9.]+× \|/.exec(main.slice(main.indexOf('## Connect storm')));
  assert.equal(f.storm.nudged, `${(Number(storm[1]) / 1000).toFixed(1)} s`);
  assert.equal(f.storm.peer, `${(Number(storm[2]) / 1000).toFixed(1)} s`);
});

test('a new report makes the committed blocks stale, and writing them makes them current', async (t) => {
  const dir = scratchCopy(t);
  edit(dir, 'bench/RESULTS.md', '| 10,000 | 658 B | 10,000 |', '| 10,000 | 700 B | 10,000 |');
  edit(dir, 'bench/scaleout/RESULTS.md', '| targeted: latency p99 | 3,903 µs |', '| targeted: latency p99 | 4,903 µs |');
  const results = generate(dir);
  const readme = results[TARGETS.readme];
  assert.notEqual(readme.current, readme.expected);
  assert.match(readme.expected, /an idle client costs nudged 700 B/);
  assert.match(readme.expected, /p99 of 4\.9 ms/);
  assert.match(results[TARGETS.docs].expected, /\| 700 B \|/);
  // Only the marked block changes.
  const outside = (text) => text.replace(/<!-- perf-summary: generated[\s\S]*?<!-- perf-summary: end -->/, '');
  assert.equal(outside(readme.expected), outside(readme.current));

  // The script run on that copy: --check fails naming both files, then a plain run fixes them.
  const copy = join(dir, 'tools');
  mkdirSync(copy);
  cpSync(script, join(copy, 'perf-summary.mjs'));
  const check = await run(process.execPath, [join(copy, 'perf-summary.mjs'), '--check']).then(
    () => assert.fail('--check passed on a stale block'), (error) => error);
  assert.equal(check.code, 1);
  assert.match(check.stderr, /perf-summary: README\.md: the performance block differs/);
  assert.match(check.stderr, /perf-summary: docs\/performance\.md: the performance block differs/);
  await run(process.execPath, [join(copy, 'perf-summary.mjs')]);
  await run(process.execPath, [join(copy, 'perf-summary.mjs'), '--check']);
  assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /an idle client costs nudged 700 B/);
});

test('a median with each server process\'s figure in brackets: the headline quotes the median', (t) => {
  const dir = scratchCopy(t);
  edit(dir, 'bench/RESULTS.md', '| 10,000 | 1 | 7.10 µs | 21.64 µs |', '| 10,000 | 1 | 7.10 µs (6.90, 7.10, 8.35) | 21.64 µs (20.10, 21.64, 25.00) |');
  edit(dir, 'bench/RESULTS.md', 'Floor at 10,000: 6.98 µs CPU per send(),', 'Floor at 10,000: 6.98 µs CPU per send() (runs: 6.90, 6.98, 7.20),');
  edit(dir, 'bench/RESULTS.md', '| nudged | 64 µs | 2207 µs |', '| nudged | 64 µs | 2207 µs (1,950, 2207, 3,001) |');
  const f = figures(loadReports(dir));
  assert.equal(f.broadcast.nudged, '7.10 µs');
  assert.equal(f.broadcast.peer, '21.64 µs');
  assert.equal(f.broadcast.floor, '6.98 µs');
  assert.equal(f.latency.nudged.p99, '2207 µs');
  assert.doesNotMatch(generate(dir)[TARGETS.readme].expected, /\(6\.90|\(1,950|\(20\.10/);
});

test('the latency the headline quotes is the 5,000 events/s row of a report with several rates', (t) => {
  const dir = scratchCopy(t);
  const text = readFileSync(join(dir, 'bench/RESULTS.md'), 'utf8');
  const at = text.indexOf('## Latency, emit');
  const next = text.indexOf('\n## ', at + 1);
  writeFileSync(join(dir, 'bench/RESULTS.md'), `${text.slice(0, at)}## Latency, emit → receive (10,000 clients, 10 s per rate)

| server | events/s | publishers | reached/s | p50 | p99 | p99.9 | max |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| nudged | 20,000 | 4 | 19,990 | 90 µs | 900 µs | 1500 µs | 3000 µs |
| Socket.IO | 20,000 | 4 | 7,000 | 9000 µs | 90000 µs | 95000 µs | 99000 µs |
| nudged | 5,000 | 1 | 5,000 | 61 µs | 250 µs (240, 250, 2,879) | 1000 µs | 2000 µs |
| Socket.IO | 5,000 | 1 | 5,000 | 85 µs | 950 µs (900, 950, 999) | 2000 µs | 4000 µs |
${text.slice(next)}`);
  const f = figures(loadReports(dir));
  assert.deepEqual(f.latency, { nudged: { p50: '61 µs', p99: '250 µs' }, peer: { p50: '85 µs', p99: '950 µs' } });
});

test('a report without a section the summary quotes is an error that names it', () => {
  const text = readFileSync(join(root, 'bench/RESULTS.md'), 'utf8').replace('## Connect storm', '## Something else');
  const reports = [parseReport('bench/RESULTS.md', text), ...loadReports().slice(1)];
  assert.throws(() => figures(reports), (error) => error instanceof SummaryError &&
    /no section "## Connect storm…" in bench\/RESULTS\.md or bench\/scaleout\/RESULTS\.md/.test(error.message));
});

test('a report without the headline row is an error that names the row', () => {
  const text = readFileSync(join(root, 'bench/RESULTS.md'), 'utf8').replace('| 10,000 | 658 B |', '| 12,000 | 658 B |');
  const reports = [parseReport('bench/RESULTS.md', text), ...loadReports().slice(1)];
  assert.throws(() => figures(reports), /Idle memory.*no row with clients = 10,000/);
});

test('a target file without its marked block is an error, and --check exits 2 on it', async (t) => {
  const dir = scratchCopy(t);
  const text = readFileSync(join(dir, 'docs/performance.md'), 'utf8');
  writeFileSync(join(dir, 'docs/performance.md'), text.replace(/<!-- perf-summary: end -->/, ''));
  assert.throws(() => generate(dir), /docs\/performance\.md: needs exactly one block/);
  mkdirSync(join(dir, 'tools'));
  cpSync(script, join(dir, 'tools/perf-summary.mjs'));
  const failed = await run(process.execPath, [join(dir, 'tools/perf-summary.mjs'), '--check']).then(
    () => assert.fail('--check passed without a block'), (error) => error);
  assert.equal(failed.code, 2);
  assert.match(failed.stderr, /^perf-summary: docs\/performance\.md: needs exactly one block/);
});
