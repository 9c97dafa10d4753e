// The logged-in user and their token, kept in localStorage so every tab of this browser is
// the same user (nudge shares one socket between them). A login or logout in one tab reaches
// the others through the `storage` event.
import { useSyncExternalStore } from 'react';

const KEY = 'nudge-bank.session';
const listeners = new Set();

const read = () => {
  try {
    return JSON.parse(localStorage.getItem(KEY)) ?? null;
  } catch {
    return null;
  }
};
let session = read();

const notify = () => listeners.forEach((listener) => listener());

export const getSession = () => session;

export function setSession(next) {
  session = next;
  if (next) localStorage.setItem(KEY, JSON.stringify(next));
  else localStorage.removeItem(KEY);
  notify();
}

window.addEventListener('storage', (event) => {
  if (event.key !== KEY) return;
  session = read();
  notify();
});

const subscribe = (listener) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};

export const useSession = () => useSyncExternalStore(subscribe, getSession);
