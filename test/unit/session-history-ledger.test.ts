// The history ledger (docs/document-model.md, "The history ledger"): knowledge only grows,
// survives a reload through localStorage, and whatever storage holds is validated on read.
import { describe, expect, it } from 'vitest'
import { encodeTombstone } from '../../src/model'
import { HistoryLedger, LEDGER_MAX_SEEN } from '../../src/session/history-ledger'
import { MemoryStorage } from '../support/memory-storage'

const ROOM = 'r'.repeat(22)
const id = (n: number) => `${String(n).padStart(6, '0')}${'m'.repeat(16)}`
const keyId = 'k'.repeat(22)
const key = (n: number) => ({ wall: 1000 + n, counter: 0, author: keyId, id: id(n) })
const stone = encodeTombstone({
  stamp: { wall: 5, counter: 0 },
  author: new Uint8Array(16).fill(1),
  publicKey: new Uint8Array(32).fill(2),
  deleted: new Uint8Array(32).fill(3),
  signature: new Uint8Array(64).fill(4),
})

describe('the history ledger', () => {
  it('keeps the newest revision seen, never an older one', () => {
    const ledger = new HistoryLedger(ROOM, undefined)
    ledger.noteSeen(id(1), key(1), 2)
    ledger.noteSeen(id(1), key(1), 1)
    expect(ledger.seen(id(1))?.revision).toBe(2)
  })

  it('pins the first key for a key id and refuses another', () => {
    const ledger = new HistoryLedger(ROOM, undefined)
    expect(ledger.pin(keyId, new Uint8Array(32).fill(1))).toBe(true)
    expect(ledger.pin(keyId, new Uint8Array(32).fill(1))).toBe(true)
    expect(ledger.pin(keyId, new Uint8Array(32).fill(2))).toBe(false)
    expect([...ledger.pinned(keyId)!]).toEqual([...new Uint8Array(32).fill(1)])
  })

  it('survives a reload, and tells which ids changed', () => {
    const storage = new MemoryStorage()
    const ledger = new HistoryLedger(ROOM, storage)
    const changed: string[] = []
    ledger.changed.subscribe((ids) => changed.push(...ids))
    ledger.noteSeen(id(1), key(1), 0)
    ledger.noteDeleted(id(2), stone)
    ledger.pin(keyId, new Uint8Array(32).fill(1))
    ledger.flush()
    expect(changed).toEqual([id(2)])
    const again = new HistoryLedger(ROOM, storage)
    expect(again.seen(id(1))).toEqual({ ...key(1), revision: 0 })
    expect([...again.deletedProof(id(2))!]).toEqual([...stone])
    expect(again.pinned(keyId)).toBeDefined()
    again.clear()
    expect(new HistoryLedger(ROOM, storage).seen(id(1))).toBeUndefined()
  })

  it('drops what storage holds that is not valid, and keeps the rest', () => {
    const storage = new MemoryStorage()
    const good = [id(1), 1, 0, keyId, 0]
    storage.setItem(
      `parley:history:${ROOM}`,
      JSON.stringify({
        v: 1,
        k: [[keyId, 'short'], ['bad', 'x'], 7],
        s: [good, [id(2), -1, 0, keyId, 0], ['x', 1, 0, keyId, 0], [id(3), 1, 0, keyId], null],
        d: [
          [id(4), 'AAAA'],
          [id(5), 12],
        ],
      }),
    )
    const ledger = new HistoryLedger(ROOM, storage)
    expect([...ledger.seenIds()]).toEqual([id(1)])
    expect([...ledger.deletedIds()]).toEqual([])
    expect(ledger.pinned(keyId)).toBeUndefined()
    for (const junk of ['not json', '[]', '{"v":2}', 'null'])
      storage.setItem(`parley:history:${ROOM}`, junk)
    expect([...new HistoryLedger(ROOM, storage).seenIds()]).toEqual([])
  })

  it('is bounded: the oldest seen ids go first', () => {
    const ledger = new HistoryLedger(ROOM, undefined)
    for (let n = 0; n < LEDGER_MAX_SEEN + 5; n++) ledger.noteSeen(id(n), key(n), 0)
    expect(ledger.seen(id(0))).toBeUndefined()
    expect(ledger.seen(id(LEDGER_MAX_SEEN + 4))).toBeDefined()
    expect([...ledger.seenIds()].length).toBe(LEDGER_MAX_SEEN)
  })
})
