// The bank's REST API. Reads are plain queries for React Query; every action writes in one
// transaction and, once it has committed, tells the user's browsers what changed with the
// seed's events. The events carry no data: the browsers refetch the endpoints above.
//
//   POST /api/login              {username, password} → {token, user}
//   GET  /api/config             {hubUrl}: where browsers connect
//   GET  /api/balance            ['balance']
//   GET  /api/transactions       ['transactions']
//   GET  /api/loans              ['loans']
//   GET  /api/loans/summary      ['loan-summary']
//   GET  /api/profile            ['profile']
//   POST /api/payments           {payee, amountCents}  → transaction_happened
//   POST /api/loans/:id/status   {status}              → loan_status_changed (+ transaction_happened)
//   PATCH /api/profile           {name?, email?, phone?} → profile_updated
//   GET|POST /api/simulate       {on}: background activity for this user every ~2 s
import { BankError, LOAN_TRANSITIONS } from './db.mjs';
import { signToken, verifyPassword, verifyToken } from './auth.mjs';

const MAX_BODY = 16 * 1024;
const PROFILE_FIELDS = {
  name: (v) => typeof v === 'string' && v.trim().length >= 1 && v.length <= 60,
  email: (v) => typeof v === 'string' && /^[^@\s]+@[^@\s]+$/.test(v) && v.length <= 100,
  phone: (v) => typeof v === 'string' && v.length <= 30,
};

async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BankError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error();
    return value;
  } catch {
    throw new BankError(400, 'the body must be a JSON object');
  }
}

const send = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

export function createApi({ bank, io, simulator, jwtSecret, hubUrl, tokenTtlSeconds = 12 * 3600 }) {
  const user = (req) => {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const sub = match && verifyToken(match[1], jwtSecret);
    // A token with the hub's secret may name someone who is not a customer (e.g. a tour token).
    if (!sub || !/^\d{1,15}$/.test(sub) || !bank.profile(Number(sub))) {
      throw new BankError(401, 'log in first');
    }
    return Number(sub);
  };
  const room = (userId) => `user_${userId}`;

  const routes = {
    'GET /api/config': () => ({ hubUrl }),

    'POST /api/login': async (req) => {
      const { username, password } = await readJson(req);
      const found = typeof username === 'string' && bank.userByName(username.trim().toLowerCase());
      if (!found || typeof password !== 'string' || !verifyPassword(password, found.passwordHash)) {
        throw new BankError(401, 'wrong username or password');
      }
      const token = signToken({ sub: found.id, secret: jwtSecret, ttlSeconds: tokenTtlSeconds });
      return { token, user: bank.profile(found.id) };
    },

    'GET /api/balance': (req) => bank.balance(user(req)),
    'GET /api/transactions': (req) => ({ transactions: bank.transactions(user(req)) }),
    'GET /api/loans': (req) => ({ loans: bank.loans(user(req)) }),
    'GET /api/loans/summary': (req) => bank.loanSummary(user(req)),
    'GET /api/profile': (req) => bank.profile(user(req)),

    'POST /api/payments': async (req) => {
      const userId = user(req);
      const { payee, amountCents } = await readJson(req);
      if (typeof payee !== 'string' || !payee.trim() || payee.length > 60) {
        throw new BankError(400, 'payee: 1 to 60 characters');
      }
      if (!Number.isInteger(amountCents) || amountCents < 1 || amountCents > 100_000_00) {
        throw new BankError(400, 'amountCents: a whole number of cents from 1 to 10000000');
      }
      const result = bank.pay(userId, payee.trim(), amountCents);
      // Committed: now the seed's line (Phase 4), with `io` being the nudge emitter.
      io.to(`user_${userId}`).emit('transaction_happened', {
        // Minimal metadata only - no full data
        timestamp: Date.now(),
      });
      return result;
    },

    'POST /api/loans/:id/status': async (req, id) => {
      const userId = user(req);
      const { status } = await readJson(req);
      if (typeof status !== 'string' || !Object.hasOwn(LOAN_TRANSITIONS, status)) {
        throw new BankError(400, `status: one of ${Object.keys(LOAN_TRANSITIONS).join(', ')}`);
      }
      const loanId = Number(id);
      if (!Number.isSafeInteger(loanId)) throw new BankError(404, `no loan ${id}`);
      const { loan, balanceChanged } = bank.setLoanStatus(userId, loanId, status);
      const events = [{ room: room(userId), event: 'loan_status_changed', data: { loanId, status } }];
      if (balanceChanged)
        events.push({ room: room(userId), event: 'transaction_happened', data: { timestamp: Date.now() } });
      io.emitMany(events); // one request for both
      return { loan };
    },

    'PATCH /api/profile': async (req) => {
      const userId = user(req);
      const changes = await readJson(req);
      const fields = Object.keys(changes);
      // Only the known fields: their names go into the UPDATE statement.
      const bad = fields.find(
        (field) => !Object.hasOwn(PROFILE_FIELDS, field) || !PROFILE_FIELDS[field](changes[field]),
      );
      if (fields.length === 0 || bad) {
        throw new BankError(400, bad ? `${bad}: not a valid value` : 'give name, email or phone');
      }
      const profile = bank.updateProfile(
        userId,
        Object.fromEntries(fields.map((f) => [f, changes[f].trim()])),
      );
      io.emitEvent(userId, 'profile_updated');
      return profile;
    },

    'GET /api/simulate': (req) => ({ on: simulator.isOn(user(req)) }),
    'POST /api/simulate': async (req) => {
      const userId = user(req);
      const { on } = await readJson(req);
      if (typeof on !== 'boolean') throw new BankError(400, 'on: true or false');
      return { on: simulator.set(userId, on) };
    },
  };

  /** Answers an /api/ request; returns false for other paths. */
  return async function handleApi(req, res, pathname) {
    if (!pathname.startsWith('/api/')) return false;
    const loan = /^\/api\/loans\/(\d+)\/status$/.exec(pathname);
    const route = routes[`${req.method} ${loan ? '/api/loans/:id/status' : pathname}`];
    try {
      if (!route) throw new BankError(404, `no route ${req.method} ${pathname}`);
      send(
        res,
        req.method === 'POST' && pathname === '/api/payments' ? 201 : 200,
        await route(req, loan?.[1]),
      );
    } catch (error) {
      if (!(error instanceof BankError)) throw error;
      send(res, error.status, { error: error.message });
    }
    return true;
  };
}
