import { useState } from 'react';
import { useNudgeEvent } from '@nudge/react-query/react';
import { EVENT_QUERY_MAP } from '../events.js';

const NAMES = Object.keys(EVENT_QUERY_MAP);
const stamp = (date) =>
  date.toLocaleTimeString(undefined, { hour12: false }) +
  `.${String(date.getMilliseconds()).padStart(3, '0')}`;

/** Every hub event this tab saw, newest first, with the query keys it invalidated. */
export function EventLog() {
  const [entries, setEntries] = useState([]);
  // One listener per event name of the map; NAMES never changes, so the hooks' order is fixed.
  for (const name of NAMES) {
    useNudgeEvent(name, (data) =>
      setEntries((list) => [{ id: crypto.randomUUID(), at: new Date(), name, data }, ...list].slice(0, 50)),
    );
  }
  return (
    <section className="card event-log">
      <h2>
        Live events <span className="muted small">from the hub</span>
      </h2>
      {entries.length === 0 && (
        <p className="muted small">Nothing yet. Make a payment, or switch on “Simulate activity”.</p>
      )}
      <ol data-testid="event-log">
        {entries.map((entry) => (
          <li key={entry.id} className="flash" data-event={entry.name}>
            <span className="time">{stamp(entry.at)}</span>
            <span className="event">{entry.name}</span>
            <span className="keys">
              → invalidate {EVENT_QUERY_MAP[entry.name].map((key) => `['${key}']`).join(' ')}
            </span>
            {entry.data !== undefined && <code>{JSON.stringify(entry.data)}</code>}
          </li>
        ))}
      </ol>
    </section>
  );
}
