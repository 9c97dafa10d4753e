// The README is the front door and docs/ holds the reference: the README stays short, every
// docs page is reachable from the index, and every relative link in the project's Markdown
// points at a file that exists and, with a #fragment, at a heading of that file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'));
const read = (file) => readFileSync(join(root, file), 'utf8');

// Markdown outside fenced code blocks and inline code spans.
const prose = (text) => text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered.
function anchors(text) {
  const seen = new Map();
  const out = new Set();
  for (const [, heading] of text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

// [{ target, fragment }] for each relative link of a Markdown file.
function links(file) {
  const out = [];
  for (const [, href] of prose(read(file)).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto:
    const [path, fragment] = href.split('#');
    out.push({ href, target: path ? join(dirname(file), path) : file, fragment });
  }
  return out;
}

const markdownFiles = [
  'README.md',
  ...docs.map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'clients')).map((c) => `clients/${c}/README.md`),
  'examples/bank/README.md',
].filter((f) => existsSync(join(root, f)));

test('README.md is a front door of at most 250 lines', () => {
  const lines = read('README.md').split('\n').length - 1;
  assert.ok(lines <= 250, `README.md has ${lines} lines; move reference material to a page in docs/`);
});

test('the README\'s table of contents lists exactly its sections', () => {
  const readme = read('README.md');
  const start = readme.indexOf('## Contents\n');
  assert.ok(start >= 0, 'README.md has no "## Contents"');
  const toc = readme.slice(start).split('\n\n')[1];
  const listed = [...toc.matchAll(/^- \[[^\]]+\]\(#([^)]+)\)$/gm)].map((m) => m[1]);
  const h2 = readme.replace(/^```[\s\S]*?^```/gm, '').split('\n').filter((l) => l.startsWith('## ')).join('\n');
  const sections = [...anchors(h2)].filter((a) => a !== 'contents');
  assert.ok(sections.length >= 3, `README.md has ${sections.length} sections`);
  assert.deepEqual(listed, sections);
});

test('the README uses no word of the project\'s own history a newcomer cannot place', () => {
  assert.doesNotMatch(read('README.md'), /\bseed\b/i, 'say what the example is, not where it came from');
});

test('every relative link resolves, fragments included', () => {
  const broken = [];
  for (const file of markdownFiles) {
    for (const { href, target, fragment } of links(file)) {
      const path = join(root, target);
      if (!existsSync(path)) {
        broken.push(`${file}: ${href} (no ${relative(root, path)})`);
      } else if (fragment && statSync(path).isFile() && target.endsWith('.md') && !anchors(read(target)).has(fragment)) {
        broken.push(`${file}: ${href} (${target} has no heading #${fragment})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('the README links the index and every docs page; the index links every page', () => {
  const linked = (file) => new Set(links(file).map((l) => l.target));
  const fromReadme = linked('README.md');
  const fromIndex = linked('docs/README.md');
  for (const page of docs) {
    if (page !== 'README.md') assert.ok(fromIndex.has(`docs/${page}`), `docs/README.md does not link docs/${page}`);
    assert.ok(fromReadme.has(`docs/${page}`), `README.md does not link docs/${page}`);
  }
});

test('anchors() follows GitHub: punctuation dropped, repeats numbered', () => {
  const got = anchors('# Publish API\n## POST /api/v1/emit\n## Troubleshooting: `connect_error` messages\n## Rooms\n## Rooms\n```\n# not a heading\n```\n');
  assert.deepEqual([...got], ['publish-api', 'post-apiv1emit', 'troubleshooting-connect_error-messages', 'rooms', 'rooms-1']);
});

test('the link check notices a broken link', () => {
  // The same parser over a page with a missing file and a missing heading.
  const text = '[a](docs/none.md) [b](docs/rooms.md#no-such-heading) `[c](not/a/link)`';
  const found = [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  assert.deepEqual(found, ['docs/none.md', 'docs/rooms.md#no-such-heading']);
  assert.equal(existsSync(join(root, 'docs/none.md')), false);
  assert.equal(anchors(read('docs/rooms.md')).has('no-such-heading'), false);
});
