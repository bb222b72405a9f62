// The browser's inbound update policy (src/net/inbound-guard.ts): the size bounds on top of the
// shared structural check, what is counted and what is logged.
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { BROWSER_INBOUND_LIMITS, InboundGuard, refuseUpdate } from '../../src/net/inbound-guard'

const SYNC_STEP_1 = 0
const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

function updateWith(items: number): Uint8Array {
  const doc = new Y.Doc()
  // Separate transactions on separate keys: one struct per item.
  for (let i = 0; i < items; i++) doc.getMap('m').set(`k${i}`, i)
  return Y.encodeStateAsUpdate(doc)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('refuseUpdate', () => {
  it('admits any honest update within the browser limits', () => {
    expect(refuseUpdate(updateWith(50))).toBeNull()
  })

  it('refuses by bytes before walking the update, and by entries after', () => {
    const update = updateWith(10)
    expect(
      refuseUpdate(update, { maxUpdateBytes: update.byteLength - 1, maxUpdateEntries: 100 }),
    ).toEqual({ limit: 'bytes', detail: `${update.byteLength} bytes > ${update.byteLength - 1}` })
    expect(refuseUpdate(update, { maxUpdateBytes: 1 << 20, maxUpdateEntries: 9 })).toEqual({
      limit: 'entries',
      detail: '10 entries > 9',
    })
    expect(refuseUpdate(update, { maxUpdateBytes: 1 << 20, maxUpdateEntries: 10 })).toBeNull()
  })

  it('admits a room as large as the relay stores', () => {
    // signaling/limits.ts: maxRoomBytes 32 MiB, maxRoomStructs 1,000,000.
    expect(BROWSER_INBOUND_LIMITS.maxUpdateBytes).toBeGreaterThanOrEqual(32 * 1024 * 1024)
    expect(BROWSER_INBOUND_LIMITS.maxUpdateEntries).toBe(1_000_000)
  })
})

describe('InboundGuard', () => {
  it('passes state vectors, counts every refusal and logs each kind once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const guard = new InboundGuard('peer or tab', { maxUpdateBytes: 1 << 20, maxUpdateEntries: 3 })
    expect(guard.filter(SYNC_STEP_1, new Uint8Array([0]))).toBe(true)
    expect(guard.filter(SYNC_STEP_2, updateWith(3))).toBe(true)
    expect(guard.filter(SYNC_STEP_2, updateWith(4))).toBe(false)
    expect(guard.filter(SYNC_UPDATE, updateWith(5))).toBe(false)
    expect(guard.filter(SYNC_UPDATE, new Uint8Array([1, 200, 200, 200, 7]))).toBe(false)
    expect(guard.refusedUpdates).toBe(3)
    expect(warn).toHaveBeenCalledTimes(2)
    expect(String(warn.mock.calls[0][0])).toContain('limit: entries, 4 entries > 3')
    expect(String(warn.mock.calls[0][0])).toContain('peer or tab')
    expect(String(warn.mock.calls[1][0])).toContain('limit: structure')
  })
})
