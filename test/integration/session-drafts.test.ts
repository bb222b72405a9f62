// Drafts survive (session/drafts.ts, docs/local-storage.md "Drafts"): a real RoomSession in Node
// with IndexedDB's semantics (fake-indexeddb) and a tab's Storage. The composer's draft is kept
// across a reopen; a sent text is kept until its message is stored here; when storage refuses
// every write (a full quota) the message says "not saved yet", and if the page then goes, its
// text is back in the composer when the room opens again.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { generateSigningIdentity, newRoomSecret, type SigningIdentity } from '../../src/crypto'
import { RoomSession, type RoomSessionConfig } from '../../src/session/room-session'
import { refuseWrites } from '../support/failing-indexeddb'

/** A tab's sessionStorage, as the Web Storage API behaves. */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>()
  get length(): number {
    return this.items.size
  }
  clear(): void {
    this.items.clear()
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null
  }
  removeItem(key: string): void {
    this.items.delete(key)
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value))
  }
}

const WRITE_MS = 10_000

let identity: SigningIdentity
let tab: MemoryStorage
let open: RoomSession[] = []
let allowWrites: (() => void) | undefined

beforeEach(async () => {
  identity ??= await generateSigningIdentity()
  tab = new MemoryStorage()
  ;(globalThis as { indexedDB: IDBFactory }).indexedDB = new IDBFactory()
})

afterEach(async () => {
  allowWrites?.()
  allowWrites = undefined
  for (const session of open.splice(0)) await session.destroy()
  vi.restoreAllMocks()
})

async function openRoom(secret: string): Promise<RoomSession> {
  const config: RoomSessionConfig = {
    signalingUrls: [],
    iceServers: [],
    relayUrl: null,
    displayName: 'Alice',
    draftStorage: tab,
  }
  const session = await RoomSession.open(secret, identity, config)
  open.push(session)
  await session.loaded
  return session
}

async function close(session: RoomSession): Promise<void> {
  open = open.filter((s) => s !== session)
  await session.destroy()
}

describe('drafts', () => {
  it('keep what is typed across a reopen of the room, and clear it once its message is stored', async () => {
    const secret = newRoomSecret()
    const first = await openRoom(secret)
    first.drafts.keep('half a thought')
    await close(first)

    const second = await openRoom(secret)
    expect(second.drafts.text).toBe('half a thought')
    await second.send('half a thought')
    expect(second.drafts.text).toBe('')
    // Kept until this browser's storage has it, then forgotten.
    await expect.poll(() => second.drafts.pending, { timeout: WRITE_MS }).toBe(0)
    await close(second)

    const third = await openRoom(secret)
    expect(third.drafts.text).toBe('')
    expect(third.timeline.entries()).toHaveLength(1)
  })

  it('bring back a sent text that never reached storage, and say it is not saved meanwhile', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const secret = newRoomSecret()
    const first = await openRoom(secret)
    allowWrites = refuseWrites('updates')
    const id = await first.send('written while the disk is full')
    await expect.poll(() => first.storageProblem, { timeout: WRITE_MS }).toBe('quota')
    // In the room and sent, but nobody holds it: not shown as kept anywhere.
    expect(first.deliveryOf(id)).toBe('unsaved')
    expect(first.drafts.text).toBe('')
    expect(first.drafts.pending).toBe(1)
    first.drafts.keep('and a new draft')
    // The page goes while storage still refuses (its teardown's last try fails too).
    await close(first)
    allowWrites()
    allowWrites = undefined

    const second = await openRoom(secret)
    expect(second.timeline.entries()).toHaveLength(0)
    expect(second.drafts.text).toBe('and a new draft\nwritten while the disk is full')
    expect(second.drafts.pending).toBe(0)
  })

  it('forget a sent text once storage works again, and the message is no longer "not saved"', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const secret = newRoomSecret()
    const first = await openRoom(secret)
    allowWrites = refuseWrites('updates')
    const id = await first.send('kept after all')
    await expect.poll(() => first.deliveryOf(id), { timeout: WRITE_MS }).toBe('unsaved')
    allowWrites()
    allowWrites = undefined
    // The next write carries the failed one with it.
    first.drafts.keep('next')
    await first.send('next')
    await expect.poll(() => first.drafts.pending, { timeout: WRITE_MS }).toBe(0)
    expect(first.storageProblem).toBeNull()
    expect(first.deliveryOf(id)).toBe('pending')
    await close(first)

    const second = await openRoom(secret)
    expect(second.timeline.entries()).toHaveLength(2)
    expect(second.drafts.text).toBe('')
  })
})
