// The seed's EVENT_QUERY_MAP, unchanged: which React Query keys each hub event invalidates.
// Adding a real-time event is one line here and one emit in the backend.
export const EVENT_QUERY_MAP = {
  transaction_happened: ['transactions', 'balance'],
  balance_updated: ['balance'],
  loan_status_changed: ['loans', 'loan-summary'],
  profile_updated: ['profile'],
};
