// fetch for the bank's REST API: JSON in and out, the session's token, errors as Error with
// the server's message. A 401 ends the session (the token expired). A query function passes its
// context (`query`): the request then goes through nudgeFetch, which asks for data at least as
// new as the event that invalidated the query (docs/fresh-data.md).
import { nudgeFetch } from '@nudge/react-query/fresh';
import { getSession, setSession } from './session.js';

// 'url' (the backend's /api/config says so when a cache sits in front): ?nudge_v= instead of the
// Nudge-Min-Version header, so the cache keys on the version.
let freshOptions = {};
export const setFreshMode = (mode) => {
  freshOptions = mode === 'url' ? { mode: 'url' } : {};
};

export async function api(path, { method = 'GET', body, query } = {}) {
  const session = getSession();
  const headers = {};
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  const response = await (query ? nudgeFetch(query, path, init, freshOptions) : fetch(path, init));
  const json = await response.json().catch(() => ({}));
  if (response.status === 401 && session) setSession(null);
  if (!response.ok) throw new Error(json.error ?? `${response.status} ${response.statusText}`);
  return json;
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
export const formatCents = (cents) => money.format(cents / 100);

/** "12.50" or "12,50" → 1250; NaN when it is not an amount. */
export function parseAmount(text) {
  const match = /^\s*(\d{1,7})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  return match ? Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0')) : NaN;
}
