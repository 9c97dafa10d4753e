#!/usr/bin/env node
// nudge: a small command line for the hub, Node built-ins only.
//   nudge token --secret S --sub 123 [--rooms all,team_7] [--ttl 3600] [--iss I] [--aud A]
//       prints an HS256 JWT the hub accepts (for development and tests)
//   nudge emit [--url http://127.0.0.1:8080] --api-key K (--room R | --rooms a,b) [--except x,y]
//       EVENT [DATA_JSON]      publishes one event through POST /api/v1/emit
// Environment: NUDGE_URL, NUDGE_API_KEY, NUDGE_JWT_SECRET fill the matching flags.
import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';

const usage = `usage:
  nudge token --secret S --sub ID [--rooms a,b] [--ttl SECONDS] [--iss I] [--aud A]
  nudge emit [--url URL] --api-key KEY (--room R | --rooms a,b) [--except a,b] EVENT [DATA_JSON]`;

function die(message) {
  console.error(`nudge: ${message}\n${usage}`);
  process.exit(2);
}

const b64url = (value) => Buffer.from(value).toString('base64url');
const list = (value) => (value ? value.split(',').filter(Boolean) : undefined);

// `room`: a subscription token for that one room (nudge:subscribe); give it a short `ttl`.
export function mintToken({ secret, sub, rooms, room, ttl = 3600, iss, aud }) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: String(sub), iat: now, exp: now + Number(ttl) };
  if (rooms) payload.rooms = rooms;
  if (room) payload.room = room;
  if (iss) payload.iss = iss;
  if (aud) payload.aud = aud;
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'token') {
    const { values } = parseArgs({
      args: rest,
      options: {
        secret: { type: 'string', default: process.env.NUDGE_JWT_SECRET },
        sub: { type: 'string' }, rooms: { type: 'string' }, ttl: { type: 'string', default: '3600' },
        iss: { type: 'string' }, aud: { type: 'string' },
      },
    });
    if (!values.secret) die('--secret is required');
    if (!values.sub) die('--sub is required');
    console.log(mintToken({ ...values, rooms: list(values.rooms) }));
    return;
  }
  if (command === 'emit') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: process.env.NUDGE_URL ?? 'http://127.0.0.1:8080' },
        'api-key': { type: 'string', default: process.env.NUDGE_API_KEY },
        room: { type: 'string' }, rooms: { type: 'string' }, except: { type: 'string' },
      },
    });
    const [event, data] = positionals;
    if (!event) die('EVENT is required');
    if (!values['api-key']) die('--api-key is required');
    if (!values.room && !values.rooms) die('--room or --rooms is required');
    const body = { event };
    if (values.room) body.room = values.room;
    if (values.rooms) body.rooms = list(values.rooms);
    if (values.except) body.except = list(values.except);
    if (data !== undefined) {
      try { body.data = JSON.parse(data); } catch { die(`DATA_JSON is not valid JSON: ${data}`); }
    }
    let response;
    try {
      response = await fetch(new URL('/api/v1/emit', values.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${values['api-key']}` },
        body: JSON.stringify(body),
      });
    } catch (error) {
      console.error(`nudge: cannot reach the hub at ${values.url}: ${error.cause?.message ?? error.message}`);
      process.exit(1);
    }
    const text = await response.text();
    if (!response.ok) {
      console.error(`nudge: hub answered ${response.status}: ${text}`);
      process.exit(1);
    }
    console.log(text);
    return;
  }
  die(command ? `unknown command ${command}` : 'a command is required');
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
