import { formatCents } from '../api.js';
import { useBalance } from '../queries.js';
import { useIsNew } from '../fresh.js';

export function BalanceCard() {
  const { data, error } = useBalance();
  const isNew = useIsNew(data && [data.balanceCents]);
  return (
    <section className="card balance-card">
      <h2>Balance</h2>
      {error && <p className="error">{error.message}</p>}
      {/* Keyed by the amount: a new value re-mounts, and flashes. */}
      <div
        className={isNew(data?.balanceCents) ? 'balance flash' : 'balance'}
        key={data?.balanceCents}
        data-testid="balance"
      >
        {data ? formatCents(data.balanceCents) : '—'}
      </div>
      {data && (
        <p className="muted small">
          + {formatCents(data.accruedInterestCents)} interest accrued this month · updated{' '}
          {new Date(data.updatedAt).toLocaleTimeString()}
        </p>
      )}
    </section>
  );
}
