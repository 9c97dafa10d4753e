import { useState } from 'react';
import { parseAmount } from '../api.js';
import { usePayment } from '../queries.js';

export function PaymentForm() {
  const [payee, setPayee] = useState('');
  const [amount, setAmount] = useState('');
  const payment = usePayment();
  const amountCents = parseAmount(amount);

  function submit(event) {
    event.preventDefault();
    // No invalidation on success: transaction_happened from the backend refreshes the page.
    payment.mutate(
      { payee, amountCents },
      {
        onSuccess: () => {
          setPayee('');
          setAmount('');
        },
      },
    );
  }

  return (
    <section className="card">
      <h2>Make a payment</h2>
      <form className="row-form" onSubmit={submit}>
        <input
          name="payee"
          placeholder="Payee"
          value={payee}
          onChange={(e) => setPayee(e.target.value)}
          required
          maxLength={60}
        />
        <input
          name="amount"
          placeholder="0.00"
          inputMode="decimal"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          required
          className="amount"
        />
        <button type="submit" disabled={payment.isPending || !payee.trim() || !(amountCents > 0)}>
          Pay
        </button>
      </form>
      {payment.error && (
        <p className="error" role="alert">
          {payment.error.message}
        </p>
      )}
    </section>
  );
}
