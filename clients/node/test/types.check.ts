// Type tests, checked by `tsc -p tsconfig.json` in `npm test`: the public API accepts what the
// README shows and refuses what the hub cannot do.
import { createEmitter, type EmitItem, type NudgeError, type NudgeErrorCode } from '../src/index.js'

const io = createEmitter({ apiKey: 'k', onError: (error: NudgeError) => void error.code })
const userId = 123

// The seed's line, unchanged; emit returns a promise of the accepted count.
const sent: Promise<number> = io.to(`user_${userId}`).emit('transaction_happened', {
  timestamp: Date.now(),
})
void sent
void io.to(['user_1', 'user_2']).in('team_7').except('user_3').emit('balance_updated')
void io.emit(['user_1'], 'loan_status_changed', { loanId: 7 }, { except: 'user_2' })
void io.emitEvent(userId, 'profile_updated')
const items: EmitItem[] = [{ room: 'user_1', event: 'a' }, { rooms: ['user_2'], event: 'b', data: 1 }]
void io.emitMany(items)

// version (an LSN or digits, a number or a bigint) and spread (ms) on every way to emit.
void io.emit('user_1', 'balance_updated', undefined, { version: '0/16B3748', spread: 3000 })
void io.emitEvent(userId, 'balance_updated', {}, { version: 42 })
void io.emitMany([{ room: 'user_1', event: 'a', version: 18446744073709551615n, spread: 0 }])
// @ts-expect-error a version is a string, a number or a bigint
void io.emit('user_1', 'x', undefined, { version: true })
// @ts-expect-error a spread is a number of ms
void io.emitMany([{ room: 'user_1', event: 'a', spread: '3000' }])

// @ts-expect-error the hub sends one argument, and there are no acknowledgements
void io.to('user_1').emit('x', 1, () => {})
// @ts-expect-error the emitter's own emit takes rooms first (no broadcast to all)
void io.emit('transaction_happened')
// @ts-expect-error the except option is a room or rooms
void io.emit('user_1', 'x', undefined, { except: 3 })

const codes: NudgeErrorCode[] = ['unreachable', 'unauthorized', 'bad_request', 'too_large', 'overloaded', 'timeout']
// @ts-expect-error not an error code
const unknown: NudgeErrorCode = 'nope'
void codes
void unknown

// Socket.IO's membership calls; they resolve with nothing.
const joined: Promise<void> = io.in(`user_${userId}`).socketsJoin(['team_7', 'team_8'])
void joined
void io.in('user_1').except('user_2').socketsLeave('team_7')
void io.in(`user_${userId}`).disconnectSockets()
void io.in(`user_${userId}`).disconnectSockets(true)
// @ts-expect-error socketsJoin takes room names
void io.in('user_1').socketsJoin(7)

// The retry policy's options: a budget in ms, an optional bound on retries, a fake clock.
const patient = createEmitter({
  apiKey: 'k',
  retryBudgetMs: 60_000,
  retries: 10,
  backoff: { minMs: 500, maxMs: 8000 },
  clock: { now: () => 0, sleep: async () => {}, jitter: () => 1 },
})
void patient
// @ts-expect-error the budget is a number of milliseconds
void createEmitter({ retryBudgetMs: '30s' })
