// "Simulate activity": while on for a user, something happens on their account every
// `intervalMs` — a card purchase, money coming in, or interest accruing — each followed, after
// its commit, by the event the seed names for it.
const MERCHANTS = [
  ['Coffee — Bean There', -3_80, -6_50],
  ['Groceries — Green Market', -18_00, -96_00],
  ['Metro card top-up', -20_00, -20_00],
  ['Bookshop — Chapter One', -9_99, -42_00],
  ['Lunch — Noodle Bar', -11_50, -24_00],
  ['Streaming subscription', -12_99, -12_99],
];
const INCOME = [
  ['Refund — Online store', 15_00, 60_00],
  ['Transfer from savings', 100_00, 250_00],
];

const pick = (list) => list[Math.floor(Math.random() * list.length)];
const between = (low, high) => Math.round(low + Math.random() * (high - low));

export function createSimulator({ bank, io, intervalMs, log }) {
  const timers = new Map(); // user id → interval
  let tick = 0;

  function step(userId) {
    tick += 1;
    try {
      if (tick % 4 === 0) {
        bank.accrueInterest(userId);
        io.emitEvent(userId, 'balance_updated', { timestamp: Date.now() });
        return;
      }
      const { balanceCents } = bank.balance(userId);
      const [description, low, high] =
        balanceCents < 50_00 || Math.random() < 0.2 ? pick(INCOME) : pick(MERCHANTS);
      bank.record(userId, description, between(low, high));
      io.to(`user_${userId}`).emit('transaction_happened', { timestamp: Date.now() });
    } catch (error) {
      log(`simulate: user ${userId}: ${error.message}`);
    }
  }

  return {
    isOn: (userId) => timers.has(userId),
    set(userId, on) {
      if (on && !timers.has(userId)) timers.set(userId, setInterval(step, intervalMs, userId));
      if (!on && timers.has(userId)) {
        clearInterval(timers.get(userId));
        timers.delete(userId);
      }
      return timers.has(userId);
    },
    stopAll() {
      for (const timer of timers.values()) clearInterval(timer);
      timers.clear();
    },
  };
}
