// One hook per REST endpoint. The keys are the ones EVENT_QUERY_MAP invalidates.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './api.js';

export const useBalance = () => useQuery({ queryKey: ['balance'], queryFn: () => api('/api/balance') });
export const useTransactions = () =>
  useQuery({ queryKey: ['transactions'], queryFn: () => api('/api/transactions') });
export const useLoans = () => useQuery({ queryKey: ['loans'], queryFn: () => api('/api/loans') });
export const useLoanSummary = () =>
  useQuery({ queryKey: ['loan-summary'], queryFn: () => api('/api/loans/summary') });
export const useProfile = () => useQuery({ queryKey: ['profile'], queryFn: () => api('/api/profile') });

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
