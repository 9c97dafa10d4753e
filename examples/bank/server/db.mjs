// The bank's data: users, their balance, transactions, loans and profile, in SQLite (sql.js,
// in memory, seeded at start so every demo run begins the same).
//
// Every write runs in one transaction (`write`) and returns only after COMMIT, so an event sent
// after it never makes a browser refetch the old rows. Amounts are integer cents. sql.js is
// synchronous and Node runs one request at a time, so a transaction is never interleaved.
import initSqlJs from 'sql.js';
import { hashPassword } from './auth.mjs';

const SCHEMA = `
  CREATE TABLE users (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    name TEXT NOT NULL, email TEXT NOT NULL, phone TEXT NOT NULL,
    balance_cents INTEGER NOT NULL, interest_cents INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL);
  CREATE TABLE transactions (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
    description TEXT NOT NULL, amount_cents INTEGER NOT NULL, created_at TEXT NOT NULL);
  CREATE TABLE loans (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL, amount_cents INTEGER NOT NULL, status TEXT NOT NULL,
    updated_at TEXT NOT NULL);
  CREATE INDEX transactions_by_user ON transactions(user_id, id);
`;

/** The demo's people; their passwords are shown on the login page. */
export const DEMO_USERS = [
  {
    username: 'alice',
    password: 'wonderland',
    name: 'Alice Martin',
    email: 'alice@example.com',
    phone: '+1 555 0101',
    balanceCents: 2_450_00,
    transactions: [
      ['Salary — Acme Corp', 3_200_00],
      ['Rent — Maple Street', -1_100_00],
      ['Groceries — Green Market', -84_20],
      ['Coffee — Bean There', -4_80],
    ],
    loans: [
      ['Car loan', 12_000_00, 'approved'],
      ['Home improvement', 5_000_00, 'pending'],
    ],
  },
  {
    username: 'bob',
    password: 'builder',
    name: 'Bob Chen',
    email: 'bob@example.com',
    phone: '+1 555 0102',
    balanceCents: 1_980_50,
    transactions: [
      ['Freelance invoice #42', 1_500_00],
      ['Hardware — Nuts & Bolts', -219_50],
      ['Phone bill', -45_00],
    ],
    loans: [['Workshop equipment', 8_000_00, 'pending']],
  },
];

/** Loan statuses and the moves the demo's "bank decision" buttons may make. */
export const LOAN_TRANSITIONS = {
  pending: ['approved', 'rejected'],
  approved: ['repaid'],
  rejected: [],
  repaid: [],
};

const PROFILE_COLUMNS = ['name', 'email', 'phone'];

export class BankError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function openBank({ users = DEMO_USERS } = {}) {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.exec(SCHEMA);

  const all = (sql, params = []) => {
    const statement = db.prepare(sql);
    try {
      statement.bind(params);
      const rows = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } finally {
      statement.free();
    }
  };
  const one = (sql, params) => all(sql, params)[0];
  const run = (sql, params = []) => {
    db.run(sql, params);
    return one('SELECT last_insert_rowid() AS id').id;
  };
  // Runs `body` in a transaction; returns its result after COMMIT, or rolls back and rethrows.
  const write = (body) => {
    db.exec('BEGIN');
    try {
      const result = body();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  const now = () => new Date().toISOString();

  const addTransaction = (userId, description, amountCents, at = now()) => {
    const user = one('SELECT balance_cents FROM users WHERE id = ?', [userId]);
    if (!user) throw new BankError(404, 'no such user');
    const balance = user.balance_cents + amountCents;
    if (balance < 0) throw new BankError(422, 'insufficient funds');
    db.run('UPDATE users SET balance_cents = ?, updated_at = ? WHERE id = ?', [balance, at, userId]);
    const id = run(
      'INSERT INTO transactions (user_id, description, amount_cents, created_at) VALUES (?, ?, ?, ?)',
      [userId, description, amountCents, at],
    );
    return { transaction: { id, description, amountCents, createdAt: at }, balanceCents: balance };
  };

  write(() => {
    for (const user of users) {
      const id = run(
        'INSERT INTO users (username, password_hash, name, email, phone, balance_cents, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?)',
        [user.username, hashPassword(user.password), user.name, user.email, user.phone, now()],
      );
      // History: the opening balance a month ago, then one transaction every few days.
      const opening = user.balanceCents - user.transactions.reduce((sum, [, cents]) => sum + cents, 0);
      const daysAgo = (days) => new Date(Date.now() - days * 86_400_000).toISOString();
      addTransaction(id, 'Opening balance', opening, daysAgo(30));
      user.transactions.forEach(([description, cents], i) =>
        addTransaction(id, description, cents, daysAgo(3 * (user.transactions.length - i) - 1.3)),
      );
      for (const [purpose, cents, status] of user.loans) {
        run('INSERT INTO loans (user_id, purpose, amount_cents, status, updated_at) VALUES (?, ?, ?, ?, ?)', [
          id,
          purpose,
          cents,
          status,
          now(),
        ]);
      }
    }
  });

  const loanRow = (row) => ({
    id: row.id,
    purpose: row.purpose,
    amountCents: row.amount_cents,
    status: row.status,
    updatedAt: row.updated_at,
    next: LOAN_TRANSITIONS[row.status],
  });

  return {
    userByName: (username) =>
      one('SELECT id, password_hash AS passwordHash FROM users WHERE username = ?', [username]),

    balance(userId) {
      const row = one('SELECT balance_cents, interest_cents, updated_at FROM users WHERE id = ?', [userId]);
      return {
        balanceCents: row.balance_cents,
        accruedInterestCents: row.interest_cents,
        currency: 'USD',
        updatedAt: row.updated_at,
      };
    },

    transactions: (userId, limit = 20) =>
      all(
        'SELECT id, description, amount_cents, created_at FROM transactions WHERE user_id = ? ORDER BY id DESC LIMIT ?',
        [userId, limit],
      ).map((row) => ({
        id: row.id,
        description: row.description,
        amountCents: row.amount_cents,
        createdAt: row.created_at,
      })),

    loans: (userId) => all('SELECT * FROM loans WHERE user_id = ? ORDER BY id', [userId]).map(loanRow),

    loanSummary(userId) {
      const row = one(
        `SELECT
          COUNT(*) FILTER (WHERE status = 'approved') AS active,
          COUNT(*) FILTER (WHERE status = 'pending') AS pending,
          COALESCE(SUM(amount_cents) FILTER (WHERE status = 'approved'), 0) AS outstanding
        FROM loans WHERE user_id = ?`,
        [userId],
      );
      return { active: row.active, pending: row.pending, outstandingCents: row.outstanding };
    },

    profile(userId) {
      return one('SELECT id, username, name, email, phone FROM users WHERE id = ?', [userId]);
    },

    /** A card payment or transfer out of the account (`amountCents` > 0 is debited). */
    pay: (userId, payee, amountCents) => write(() => addTransaction(userId, payee, -amountCents)),

    /** Money in or out without a form: what the "simulate activity" switch produces. */
    record: (userId, description, amountCents) =>
      write(() => addTransaction(userId, description, amountCents)),

    /**
     * Interest accrues daily and is posted as a transaction once a month, so accruing changes
     * the balance card, not the transaction list. Returns the cents accrued.
     */
    accrueInterest: (userId) =>
      write(() => {
        const { balance_cents: balance } = one('SELECT balance_cents FROM users WHERE id = ?', [userId]);
        const cents = Math.max(1, Math.round(balance * 0.0001));
        db.run('UPDATE users SET interest_cents = interest_cents + ?, updated_at = ? WHERE id = ?', [
          cents,
          now(),
          userId,
        ]);
        return cents;
      }),

    /**
     * Moves a loan to `status`. Approving pays the loan out into the balance and repaying takes
     * it back; `balanceChanged` says whether that happened.
     */
    setLoanStatus: (userId, loanId, status) =>
      write(() => {
        const loan = one('SELECT * FROM loans WHERE id = ? AND user_id = ?', [loanId, userId]);
        if (!loan) throw new BankError(404, `no loan ${loanId}`);
        if (!LOAN_TRANSITIONS[loan.status].includes(status)) {
          throw new BankError(409, `loan ${loanId} is ${loan.status} and cannot become ${status}`);
        }
        const delta =
          status === 'approved' ? loan.amount_cents : status === 'repaid' ? -loan.amount_cents : 0;
        if (delta !== 0) {
          const label = status === 'approved' ? 'paid out' : 'repaid';
          addTransaction(userId, `${loan.purpose} — loan ${label}`, delta);
        }
        db.run('UPDATE loans SET status = ?, updated_at = ? WHERE id = ?', [status, now(), loanId]);
        return {
          loan: loanRow(one('SELECT * FROM loans WHERE id = ?', [loanId])),
          balanceChanged: delta !== 0,
        };
      }),

    /** `changes` of `name`, `email`, `phone`; any other key is a programming error. */
    updateProfile: (userId, changes) =>
      write(() => {
        for (const [field, value] of Object.entries(changes)) {
          if (!PROFILE_COLUMNS.includes(field)) throw new Error(`not a profile field: ${field}`);
          db.run(`UPDATE users SET ${field} = ? WHERE id = ?`, [value, userId]);
        }
        return one('SELECT id, username, name, email, phone FROM users WHERE id = ?', [userId]);
      }),

    close: () => db.close(),
  };
}
