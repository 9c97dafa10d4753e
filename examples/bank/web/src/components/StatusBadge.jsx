import { useNudgeStatus } from '@nudge/react-query/react';

const LABELS = {
  idle: ['idle', 'off'],
  connecting: ['connecting…', 'wait'],
  reconnecting: ['reconnecting…', 'wait'],
  connected: ['live', 'on'],
  disconnected: ['offline', 'bad'],
  unauthorized: ['refused by hub', 'bad'],
};

/** The hub connection, from useNudgeStatus: live, (re)connecting, offline or refused. */
export function StatusBadge() {
  const status = useNudgeStatus();
  const [label, tone] = LABELS[status.state] ?? [status.state, 'off'];
  const title = [`state: ${status.state}`, `tab role: ${status.role}`, status.error?.message]
    .filter(Boolean)
    .join('\n');
  return (
    <span className={`badge ${tone}`} data-testid="hub-status" data-state={status.state} title={title}>
      <span className="dot" />
      {label}
    </span>
  );
}
