import { setSession } from '../session.js';
import { useProfile, useSimulation } from '../queries.js';
import { StatusBadge } from './StatusBadge.jsx';
import { BalanceCard } from './BalanceCard.jsx';
import { PaymentForm } from './PaymentForm.jsx';
import { Transactions } from './Transactions.jsx';
import { Loans } from './Loans.jsx';
import { Profile } from './Profile.jsx';
import { EventLog } from './EventLog.jsx';

export function Dashboard({ user }) {
  const simulation = useSimulation();
  const profile = useProfile(); // the header follows profile_updated too
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="logo">◆</span> nudge bank
        </div>
        <label className="switch" title="Background transactions for this user every ~2 s">
          <input
            type="checkbox"
            name="simulate"
            checked={simulation.on}
            disabled={simulation.pending}
            onChange={(e) => simulation.set(e.target.checked)}
          />
          <span className="track" />
          Simulate activity
        </label>
        <StatusBadge />
        <span className="who">{profile.data?.name ?? user.name}</span>
        <button type="button" className="ghost" onClick={() => setSession(null)}>
          Log out
        </button>
      </header>
      <main className="grid">
        <div className="column">
          <BalanceCard />
          <PaymentForm />
          <Loans />
          <Profile />
        </div>
        <div className="column">
          <Transactions />
        </div>
        <div className="column">
          <EventLog />
        </div>
      </main>
    </div>
  );
}
