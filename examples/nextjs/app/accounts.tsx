'use client'
import { useNudgeStatus } from '@nudge/react-query/react'
import { useQuery } from '@tanstack/react-query'
import { ACCOUNTS, accountKey, fetchAccount } from '../lib/accounts'

function AccountRow({ id, backendUrl }: { readonly id: string; readonly backendUrl: string }) {
  const { data } = useQuery({ queryKey: accountKey(id), queryFn: () => fetchAccount(backendUrl, id) })
  return (
    <li>
      {id}: <span id={`balance-${id}`}>{data?.balance ?? '…'}</span>
    </li>
  )
}

export function Accounts({ backendUrl }: { readonly backendUrl: string }) {
  const { state } = useNudgeStatus()
  return (
    <>
      <p>
        hub: <span id="status">{state}</span>
      </p>
      <ul>
        {ACCOUNTS.map((id) => (
          <AccountRow key={id} id={id} backendUrl={backendUrl} />
        ))}
      </ul>
    </>
  )
}
