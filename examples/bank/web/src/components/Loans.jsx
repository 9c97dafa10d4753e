import { formatCents } from '../api.js';
import { useLoanDecision, useLoans, useLoanSummary } from '../queries.js';

const ACTIONS = { approved: 'Approve', rejected: 'Reject', repaid: 'Repay' };

export function Loans() {
  const loans = useLoans();
  const summary = useLoanSummary();
  const decide = useLoanDecision();
  return (
    <section className="card">
      <h2>Loans</h2>
      {summary.data && (
        <p className="muted small" data-testid="loan-summary">
          {summary.data.active} active · {summary.data.pending} pending ·{' '}
          {formatCents(summary.data.outstandingCents)} outstanding
        </p>
      )}
      <ul className="list loans" data-testid="loans">
        {loans.data?.loans.map((loan) => (
          <li key={loan.id}>
            <div>
              <div className="title">{loan.purpose}</div>
              <div className="muted small">{formatCents(loan.amountCents)}</div>
            </div>
            <div className="loan-side">
              <span className={`pill ${loan.status}`} key={loan.status}>
                {loan.status}
              </span>
              {loan.next.map((status) => (
                <button
                  type="button"
                  className="small-button"
                  key={status}
                  disabled={decide.isPending}
                  onClick={() => decide.mutate({ loanId: loan.id, status })}
                >
                  {ACTIONS[status]}
                </button>
              ))}
            </div>
          </li>
        ))}
      </ul>
      <p className="muted small hint">Buttons play the bank's decision, to see loan events live.</p>
      {decide.error && (
        <p className="error" role="alert">
          {decide.error.message}
        </p>
      )}
    </section>
  );
}
