import { isStaleResponse } from '@nudge/react-query/fresh';
import { formatCents } from '../api.js';
import { useBalance } from '../queries.js';
import { useIsNew } from '../fresh.js';

export function BalanceCard() {
  const { data, error } = useBalance();
  const isNew = useIsNew(data && [data.balanceCents]);
  // The backend kept answering with data older than the last event: say so, never pass the old
  // balance off as current.
  const behind = isStaleResponse(error);
  return (
    <section className="card balance-card" data-behind={behind}>
      <h2>Balance</h2>
      {behind && <p className="muted small">Catching up with your latest transaction…</p>}
      {error && !behind && <p className="error">{error.message}</p>}
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
