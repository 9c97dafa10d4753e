// One hook per REST endpoint. The keys are the ones EVENT_QUERY_MAP invalidates.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './api.js';

// `query` (the query function's context) lets api() ask for data as new as the last event.
const get = (path) => (query) => api(path, { query });
export const useBalance = () => useQuery({ queryKey: ['balance'], queryFn: get('/api/balance') });
export const useTransactions = () =>
  useQuery({ queryKey: ['transactions'], queryFn: get('/api/transactions') });
export const useLoans = () => useQuery({ queryKey: ['loans'], queryFn: get('/api/loans') });
export const useLoanSummary = () =>
  useQuery({ queryKey: ['loan-summary'], queryFn: get('/api/loans/summary') });
export const useProfile = () => useQuery({ queryKey: ['profile'], queryFn: get('/api/profile') });

// Actions. None of them invalidates anything on success: the backend's event does that, for
// this tab and for every other tab and device of the same user.
export const usePayment = () =>
  useMutation({ mutationFn: (payment) => api('/api/payments', { method: 'POST', body: payment }) });
export const useLoanDecision = () =>
  useMutation({
    mutationFn: ({ loanId, status }) =>
      api(`/api/loans/${loanId}/status`, { method: 'POST', body: { status } }),
  });
export const useProfileUpdate = () =>
  useMutation({ mutationFn: (changes) => api('/api/profile', { method: 'PATCH', body: changes }) });

// The demo switch is this tab's control, not account data: its answer is written to the cache.
export function useSimulation() {
  const queryClient = useQueryClient();
  const state = useQuery({ queryKey: ['simulate'], queryFn: () => api('/api/simulate') });
  const toggle = useMutation({
    mutationFn: (on) => api('/api/simulate', { method: 'POST', body: { on } }),
    onSuccess: (data) => queryClient.setQueryData(['simulate'], data),
  });
  return { on: state.data?.on ?? false, set: toggle.mutate, pending: toggle.isPending };
}
