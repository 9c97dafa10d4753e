import { formatCents } from '../api.js';
import { useTransactions } from '../queries.js';
import { useIsNew } from '../fresh.js';

const time = (iso) =>
  new Date(iso).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

export function Transactions() {
  const { data, error } = useTransactions();
  const isNew = useIsNew(data?.transactions.map((tx) => tx.id));
  return (
    <section className="card">
      <h2>Recent transactions</h2>
      {error && <p className="error">{error.message}</p>}
      <ul className="list transactions" data-testid="transactions">
        {data?.transactions.map((tx) => (
          <li key={tx.id} className={isNew(tx.id) ? 'flash' : undefined}>
            <div>
              <div className="title">{tx.description}</div>
              <div className="muted small">{time(tx.createdAt)}</div>
            </div>
            <div className={tx.amountCents < 0 ? 'amount debit' : 'amount credit'}>
              {tx.amountCents > 0 ? '+' : ''}
              {formatCents(tx.amountCents)}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
