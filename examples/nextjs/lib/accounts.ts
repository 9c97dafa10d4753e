// What the server render and the browser share: the accounts, their query keys, how to fetch
// one from the backend, and the event map that says which event invalidates which key.
import type { EventMap } from '@nudge/react-query'

export const ACCOUNTS = ['checking', 'savings', 'card'] as const

export interface Account {
  readonly id: string
  readonly balance: number
}

export interface Events {
  account_changed: { id: string }
}

export const accountKey = (id: string) => ['account', id] as const

export const events = {
  account_changed: (data) => [accountKey(data.id)],
} satisfies EventMap<Events>

export async function fetchAccount(backendUrl: string, id: string, init?: RequestInit): Promise<Account> {
  const response = await fetch(`${backendUrl}/accounts/${id}`, { cache: 'no-store', ...init })
  if (!response.ok) throw new Error(`example: GET ${backendUrl}/accounts/${id} answered ${response.status}`)
  return (await response.json()) as Account
}
