// The relay room's parts, each alone (docs/relay.md, "Structure"): the connections and their
// backpressure, the connection budget, forwarding policy, "saved to relay", appends and
// compaction, over fake peers and a store the test controls — no room object, no sockets.

import * as decoding from 'lib0/decoding'
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { CloseCode } from '../../signaling/close-codes'
import { DEFAULT_RELAY_LIMITS } from '../../signaling/limits'
import { createLogger } from '../../signaling/log'
import { Acknowledger } from '../../signaling/relay/acknowledger'
import { Compactor } from '../../signaling/relay/compactor'
import { ConnectionBudget } from '../../signaling/relay/connection-budget'
import { Forwarder } from '../../signaling/relay/forwarder'
import { Persister } from '../../signaling/relay/persister'
import { RoomDoc } from '../../signaling/relay/room-doc'
import { RoomLedger } from '../../signaling/relay/room-ledger'
import { RoomMember, RoomMembers, type RelayPeer } from '../../signaling/relay/room-members'
import { TurnBatcher } from '../../signaling/relay/turn'
import { MemoryRoomStore } from '../support/relay-memory-store'

const WAIT = { timeout: 5_000, interval: 5 }
const logger = createLogger({ level: 'error', sink: () => undefined })

class FakePeer implements RelayPeer {
  readonly sent: Uint8Array[] = []
  closedWith: { code: number; reason: string } | undefined
  bufferedAmount = 0
  send(message: Uint8Array): void {
    this.sent.push(message)
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason }
  }
  /** Sync payloads sent with `step` (0 step 1, 2 update). */
  payloads(step: number): Uint8Array[] {
    return this.sent.flatMap((message) => {
      const decoder = decoding.createDecoder(message)
      if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== step) return []
      return [decoding.readVarUint8Array(decoder)]
    })
  }
}

function membersOf(count: number, limits = DEFAULT_RELAY_LIMITS) {
  const ended: RoomMember[] = []
  const members = new RoomMembers({
    logId: 'test',
    limits,
    logger,
    onEnd: (member) => ended.push(member),
  })
  const peers = Array.from({ length: count }, () => new FakePeer())
  const list = peers.map((peer) => {
    const member = new RoomMember('test', peer, new ConnectionBudget(limits, () => 0), 0)
    members.add(member)
    return member
  })
  return { members, peers, list, ended }
}

function updateWriting(text: string, clientID: number): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientID
  doc.getArray<string>('messages').push([text])
  return Y.encodeStateAsUpdate(doc)
}

describe('RoomMembers', () => {
  it('drops a member whose peer stopped reading, and tells the room it ended', () => {
    const { members, peers, list, ended } = membersOf(2, {
      ...DEFAULT_RELAY_LIMITS,
      maxBufferedBytes: 10,
    })
    peers[1].bufferedAmount = 11
    for (const member of list) members.send(member, new Uint8Array([1]))
    expect(peers[0].sent).toHaveLength(1)
    expect(peers[1].sent).toHaveLength(0)
    expect(peers[1].closedWith?.code).toBe(CloseCode.TRY_AGAIN_LATER)
    expect(ended).toEqual([list[1]])
    expect(members.size).toBe(1)
  })
})

describe('ConnectionBudget', () => {
  it('allows a burst, then the sustained rate, and names the limit it refuses with', () => {
    let now = 0
    const budget = new ConnectionBudget(
      { ...DEFAULT_RELAY_LIMITS, messageBurst: 3, messagesPerSecond: 1 },
      () => now,
    )
    expect([budget.takeFrame(1), budget.takeFrame(1), budget.takeFrame(1)]).toEqual([
      null,
      null,
      null,
    ])
    expect(budget.takeFrame(1)).toMatchObject({ limit: 'messagesPerSecond', code: 1013 })
    now += 1000
    expect(budget.takeFrame(1)).toBeNull()
  })
})

describe('Forwarder', () => {
  it("sends a lone writer nothing, and a large writer only the others' part", () => {
    const { members, peers, list } = membersOf(3)
    const forwarder = new Forwarder(members)
    const small = updateWriting('small', 1)
    forwarder.forwardTurn(small, [{ update: small, member: list[0], queuedBytes: 0 }], false)
    expect(peers.map((peer) => peer.payloads(2).length)).toEqual([0, 1, 1])

    const large = updateWriting('x'.repeat(20_000), 2)
    const other = updateWriting('other', 3)
    const merged = Y.mergeUpdates([large, other])
    forwarder.forwardTurn(
      merged,
      [
        { update: large, member: list[1], queuedBytes: 0 },
        { update: other, member: list[2], queuedBytes: 0 },
      ],
      false,
    )
    // The large writer gets only what the other wrote; everyone else the whole turn.
    expect(peers[1].payloads(2).at(-1)).toEqual(other)
    expect(peers[0].payloads(2).at(-1)).toEqual(merged)
    expect(peers[2].payloads(2).at(-1)).toEqual(merged)
  })
})

describe('Acknowledger', () => {
  it('encodes the durable state once and acknowledges only when it moved', () => {
    const { members, peers, list } = membersOf(1)
    const acknowledger = new Acknowledger(members, new Map())
    const first = acknowledger.stateMessage()
    expect(acknowledger.stateMessage()).toBe(first)
    acknowledger.acknowledgeIfMoved(list[0])
    expect(peers[0].sent).toHaveLength(0)
    acknowledger.set(new Map([[7, 3]]))
    acknowledger.acknowledgeIfMoved(list[0])
    expect(Y.decodeStateVector(peers[0].payloads(0)[0])).toEqual(new Map([[7, 3]]))
    acknowledger.set(new Map([[7, 3]])) // the same state: no new version
    acknowledger.acknowledgeIfMoved(list[0])
    expect(peers[0].sent).toHaveLength(1)
  })
})

describe('Acknowledger coalescing', () => {
  it('acknowledges a writer at once, then folds a burst into one at the end of 100 ms', async () => {
    const { members, peers, list } = membersOf(1)
    let now = 0
    const acknowledger = new Acknowledger(members, new Map(), () => now)
    acknowledger.set(new Map([[1, 1]]))
    acknowledger.acknowledge(list[0])
    for (let clock = 2; clock <= 10; clock++) {
      now += 5
      acknowledger.set(new Map([[1, clock]]))
      acknowledger.acknowledge(list[0])
    }
    expect(peers[0].payloads(0)).toHaveLength(1)
    now += 100
    await vi.waitFor(() => expect(peers[0].payloads(0)).toHaveLength(2), WAIT)
    // The folded one covers the whole burst.
    expect(Y.decodeStateVector(peers[0].payloads(0)[1])).toEqual(new Map([[1, 10]]))
  })
})

describe('Persister and Compactor', () => {
  it('stores turns queued during an append together, acknowledges after, and compacts', async () => {
    const store = new MemoryRoomStore()
    const { members, peers, list } = membersOf(1)
    const doc = new RoomDoc([], () => undefined)
    const ledger = new RoomLedger(0, 0, null)
    const acknowledger = new Acknowledger(members, doc.state)
    const compactor = new Compactor({
      roomId: 'room',
      logId: 'room',
      store,
      doc,
      ledger,
      limits: { compactionMinLogBytes: 1 },
      logger,
      isOpen: () => true,
    })
    const persister = new Persister({
      roomId: 'room',
      logId: 'room',
      store,
      ledger,
      acknowledger,
      logger,
      docState: () => doc.state,
      turnPending: () => false,
      isBroken: () => false,
      onAppendFailed: () => undefined,
      onSaved: () => compactor.maybeCompact(),
    })
    let letThrough!: () => void
    store.gate = new Promise((resolve) => (letThrough = resolve))
    const writes = [updateWriting('one', 1), updateWriting('two', 2), updateWriting('three', 3)]
    for (const update of writes) {
      const { update: applied } = doc.applyClients(
        [{ update, member: list[0], queuedBytes: 0 }],
        () => ({ steps: Infinity, perUpdate: Infinity, spend: () => undefined }),
      )
      persister.queue(applied, new Set([list[0]]), new Set())
    }
    expect(store.appends).toBe(1) // the first waits at the gate; the others queue behind it
    expect(peers[0].payloads(0)).toHaveLength(0)
    letThrough()
    await vi.waitFor(() => expect(peers[0].payloads(0)).toHaveLength(2), WAIT)
    expect(store.appends).toBe(2)
    expect(Y.decodeStateVector(peers[0].payloads(0)[1])).toEqual(
      new Map([
        [1, 1],
        [2, 1],
        [3, 1],
      ]),
    )
    await vi.waitFor(() => expect(store.compactions).toBeGreaterThan(0), WAIT)
    await compactor.settled
    const reloaded = new Y.Doc()
    for (const update of (await store.load('room')).updates) Y.applyUpdate(reloaded, update)
    expect(reloaded.getArray('messages').toArray().sort()).toEqual(['one', 'three', 'two'])
  })
})

describe('RoomDoc', () => {
  const unbounded = () => ({ steps: Infinity, perUpdate: Infinity, spend: () => undefined })
  // Yjs throws on the second half-way, once the first is in the doc (the update guard refuses
  // it; RoomDoc does not rely on that).
  const base = Buffer.from(
    '0106010008010161017701788101000183010101012801016d016b017701762701016d016e0104010174' +
      '036162630101010101',
    'hex',
  )
  const breaking = Buffer.from(
    '01060200c80100010101770171c70211010102040002010177a801030177017546010501620131c60106' +
      '01070162046e756c6c010103010103010601',
    'hex',
  )

  it("drops an update Yjs throws on, with its sender's others, and keeps the rest", () => {
    const { list } = membersOf(2)
    const stored = updateWriting('stored', 1)
    const doc = new RoomDoc([stored], () => undefined)
    const honest = updateWriting('honest', 2)
    const result = doc.applyClients(
      [
        { update: base, member: list[0], queuedBytes: 0 },
        { update: honest, member: list[1], queuedBytes: 0 },
        { update: breaking, member: list[0], queuedBytes: 0 },
      ],
      unbounded,
    )
    expect(result.failures.map((failure) => [failure.kind, failure.member])).toEqual([
      ['malformed', list[0]],
    ])
    expect(result.unrecoverable).toBe(false)
    const view = new Y.Doc()
    Y.applyUpdate(view, doc.fullState())
    expect(view.getArray('messages').toArray().sort()).toEqual(['honest', 'stored'])
    expect(view.share.has('a')).toBe(false) // nothing of the attacker's base update
    expect(result.update).not.toBeNull()
  })

  it('serves the stored snapshot as it is, and encodes once per change', () => {
    const { list } = membersOf(1)
    const snapshot = updateWriting('stored', 1)
    const doc = new RoomDoc([snapshot], () => undefined)
    expect(doc.fullState()).toBe(snapshot)
    doc.applyClients(
      [{ update: updateWriting('new', 2), member: list[0], queuedBytes: 0 }],
      unbounded,
    )
    const full = doc.fullState()
    expect(full).not.toBe(snapshot)
    expect(doc.fullState()).toBe(full)
  })
})

describe('TurnBatcher', () => {
  it('hands over one turn per event-loop turn, however much arrived', async () => {
    const turns: number[] = []
    const batcher = new TurnBatcher((turn) => turns.push(turn.remote.length))
    for (let i = 0; i < 5; i++) {
      batcher.current.remote.push(new Uint8Array([i]))
      batcher.schedule()
    }
    expect(batcher.pending).toBe(true)
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(turns).toEqual([5])
    expect(batcher.pending).toBe(false)
  })
})
