import { describe, expect, it } from 'vitest'
import { compareVersions, readEventArgs } from '../src/index.js'

describe('readEventArgs', () => {
  it('passes plain arguments through (a hub that sends no metadata)', () => {
    expect(readEventArgs([{ id: 1 }], false)).toEqual({ data: { id: 1 }, meta: {} })
    expect(readEventArgs([], false)).toEqual({ data: undefined, meta: {} })
  })

  it('splits data, metadata and offset', () => {
    const args = [{ id: 1 }, { $nudge: { v: '0/16B3748', s: 3000 } }, 'e1:42']
    expect(readEventArgs(args, true)).toEqual({ data: { id: 1 }, meta: { version: '0/16B3748', spread: 3000 } })
    expect(readEventArgs([null, { $nudge: { v: '7' } }, 'e1:43'], true)).toEqual({ data: null, meta: { version: '7' } })
    // With a window, "t": when the hub took the event; without a window, or not a time, ignored.
    expect(readEventArgs([null, { $nudge: { s: 3000, t: 1765112345678 } }], false).meta).toEqual({ spread: 3000, sentAt: 1765112345678 })
    expect(readEventArgs([null, { $nudge: { v: '7', t: 1765112345678 } }], false).meta).toEqual({ version: '7' })
    for (const t of [-5, 1.5, '1765112345678', null, 2 ** 53])
      expect(readEventArgs([null, { $nudge: { s: 3000, t } }], false).meta).toEqual({ spread: 3000 })
  })

  it('keeps a trailing string when the session has no offsets, and data that merely has a $nudge key', () => {
    expect(readEventArgs(['hello'], false)).toEqual({ data: 'hello', meta: {} })
    expect(readEventArgs(['e1:1'], true)).toEqual({ data: undefined, meta: {} })
    const data = { $nudge: 1, other: 2 }
    expect(readEventArgs([data], false)).toEqual({ data, meta: {} })
  })
})

describe('compareVersions', () => {
  it('orders LSNs numerically, not as text', () => {
    expect(compareVersions('0/9', '0/10')).toBeLessThan(0)
    expect(compareVersions('1/0', '0/FFFFFFFF')).toBeGreaterThan(0)
    expect(compareVersions('0/16b3748', '0/16B3748')).toBe(0)
  })

  it('compares LSNs with decimal versions (H/L = H * 2^32 + L)', () => {
    expect(compareVersions('1/0', '4294967296')).toBe(0)
    expect(compareVersions('18446744073709551615', 'FFFFFFFF/FFFFFFFE')).toBeGreaterThan(0)
    expect(compareVersions('00012', '12')).toBe(0)
  })

  it('throws a message naming the value on anything else', () => {
    for (const bad of ['', '-1', '1.5', '0/', 'G/1', '123456789/0', '18446744073709551616', '1e3']) {
      expect(() => compareVersions(bad, '1'), bad).toThrow(`"${bad}" is not a version`)
    }
  })
})
