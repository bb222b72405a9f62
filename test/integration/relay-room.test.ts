// The relay's rooms without sockets, over a store the test controls: one append per room per
// turn, encoded once for every receiver; acknowledgements only after the store said "durable";
// nothing acknowledged when the store fails; slow readers dropped; compaction geometric.

import * as decoding from 'lib0/decoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { CloseCode } from '../../signaling/close-codes'
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from '../../signaling/limits'
import { createLogger } from '../../signaling/log'
import { RelayHub } from '../../signaling/relay/relay-hub'
import type { RelayConnection, RelayPeer } from '../../signaling/relay/relay-room'
import type { LogRecord } from '../support/server-harness'
import { MemoryRoomStore } from '../support/relay-memory-store'
import { newRoom, syncStep1Frame, syncUpdateFrame } from '../support/relay-client'

const WAIT = { timeout: 5_000, interval: 5 }

type UpdateMessage = { kind: 'step2' | 'update'; update: Uint8Array }
type Received =
  { kind: 'step1'; stateVector: Map<number, number> } | UpdateMessage | { kind: 'awareness' }

class FakePeer implements RelayPeer {
  readonly received: Received[] = []
  /** Every message as sent, the very objects. */
  readonly messages: Uint8Array[] = []
  closedWith: { code: number; reason: string } | undefined
  bufferedAmount = 0
  send(message: Uint8Array): void {
    this.messages.push(message)
    const decoder = decoding.createDecoder(message)
    const type = decoding.readVarUint(decoder)
    if (type !== 0) return void this.received.push({ kind: 'awareness' })
    const step = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    if (step === 0) this.received.push({ kind: 'step1', stateVector: Y.decodeStateVector(payload) })
    else this.received.push({ kind: step === 1 ? 'step2' : 'update', update: payload })
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason }
  }
  of(kind: Received['kind']): Received[] {
    return this.received.filter((message) => message.kind === kind)
  }
  lastStateVector(): Map<number, number> | undefined {
    const steps = this.of('step1') as Extract<Received, { kind: 'step1' }>[]
    return steps.at(-1)?.stateVector
  }
}

const hubs: RelayHub[] = []
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close()
})

function setup(limits: Partial<RelayLimits> = {}) {
  const store = new MemoryRoomStore()
  const logs: LogRecord[] = []
  const logger = createLogger({
    level: 'debug',
    sink: (line) => logs.push(JSON.parse(line) as LogRecord),
  })
  const hub = new RelayHub({ store, limits: { ...DEFAULT_RELAY_LIMITS, ...limits }, logger })
  hubs.push(hub)
  const room = newRoom()
  /** A member: a Y.Doc of its own, a fake socket, and its connection to the room. */
  const join = async () => {
    const acquired = await hub.acquire(room.roomId, { mayCreate: true })
    if (!acquired.ok) throw new Error('refused')
    const peer = new FakePeer()
    const connection: RelayConnection = acquired.room.connect(peer, { remote: 'test' })
    const doc = new Y.Doc()
    const write = (text: string) => {
      const updates: Uint8Array[] = []
      doc.once('update', (update: Uint8Array) => updates.push(update))
      doc.getArray<string>('messages').push([text])
      connection.receive(syncUpdateFrame(updates[0]))
    }
    return { peer, connection, doc, write }
  }
  return { store, logs, hub, room, join }
}

/** Lets the current event-loop turn end, so the room flushes it. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('RelayRoom', () => {
  it('stores one batch per turn and sends everyone one update, a lone writer none', async () => {
    const { store, join } = setup()
    const alice = await join()
    const bob = await join()
    const carol = await join()
    const updatesTo = (member: { peer: FakePeer }) => member.peer.of('update') as UpdateMessage[]
    alice.write('a1')
    alice.write('a2')
    bob.write('b1')
    await nextTurn()
    expect(store.appends).toBe(1)
    // Two writers: everyone gets the whole turn in one message, the writers their own part too
    // (applying it again changes nothing).
    for (const member of [alice, bob, carol]) {
      expect(updatesTo(member)).toHaveLength(1)
      const view = new Y.Doc()
      Y.applyUpdate(view, updatesTo(member)[0].update)
      expect(view.getArray('messages').toArray().sort()).toEqual(['a1', 'a2', 'b1'])
    }
    // One writer: it already holds everything the turn brought.
    alice.write('a3')
    await nextTurn()
    expect(store.appends).toBe(2)
    expect(updatesTo(alice)).toHaveLength(1)
    for (const member of [bob, carol]) {
      expect(updatesTo(member)).toHaveLength(2)
      const view = new Y.Doc()
      for (const { update } of updatesTo(member)) Y.applyUpdate(view, update)
      expect(view.getArray('messages').toArray().sort()).toEqual(['a1', 'a2', 'a3', 'b1'])
    }
  })

  it('does not send replicas back from offline their own writes when they merge in one turn', async () => {
    const { join } = setup()
    const alice = await join()
    const bob = await join()
    const carol = await join()
    const offline = 'x'.repeat(40 * 1024)
    alice.write(`alice offline ${offline}`)
    bob.write(`bob offline ${offline}`)
    await nextTurn()
    const textsSent = (member: { peer: FakePeer }) => {
      const view = new Y.Doc()
      for (const message of member.peer.of('update') as UpdateMessage[])
        Y.applyUpdate(view, message.update)
      return view
        .getArray<string>('messages')
        .toArray()
        .map((text) => text.slice(0, 13))
    }
    expect(textsSent(alice)).toEqual(['bob offline x'])
    expect(textsSent(bob)).toEqual(['alice offline'])
    expect(textsSent(carol).sort()).toEqual(['alice offline', 'bob offline x'])
  })

  it("forwards a lone writer's turn to the writer too when it unblocks waiting writes", async () => {
    const { join } = setup()
    const alice = await join()
    const bob = await join()
    // Bob saw Alice's message elsewhere (over WebRTC) and answered after it, before the relay
    // had it: his write waits in the relay's doc for hers.
    const fromAlice: Uint8Array[] = []
    alice.doc.on('update', (update: Uint8Array) => fromAlice.push(update))
    alice.doc.getArray<string>('messages').push(['question'])
    Y.applyUpdate(bob.doc, fromAlice[0])
    bob.write('answer')
    await nextTurn()
    expect(alice.peer.of('update')).toHaveLength(0)
    alice.connection.receive(syncUpdateFrame(fromAlice[0]))
    await nextTurn()
    // Her turn brought his waiting write in with it: she is sent it, her own part included.
    const view = new Y.Doc()
    for (const { update } of alice.peer.of('update') as UpdateMessage[]) Y.applyUpdate(view, update)
    expect(view.getArray('messages').toArray()).toEqual(['question', 'answer'])
  })

  it('acknowledges a write only once the store has it', async () => {
    const { store, join } = setup()
    const alice = await join()
    const bob = await join()
    let letThrough!: () => void
    store.gate = new Promise((resolve) => (letThrough = resolve))
    const acksBefore = alice.peer.of('step1').length
    alice.write('waits for the disk')
    await nextTurn()
    // Forwarded at once, not acknowledged yet.
    expect(bob.peer.of('update')).toHaveLength(1)
    expect(alice.peer.of('step1')).toHaveLength(acksBefore)
    // Someone connecting now is not told it is stored either.
    const carol = await join()
    expect(carol.peer.lastStateVector()?.get(alice.doc.clientID)).toBeUndefined()
    letThrough()
    await vi.waitFor(() => expect(alice.peer.of('step1')).toHaveLength(acksBefore + 1), WAIT)
    expect(alice.peer.lastStateVector()?.get(alice.doc.clientID)).toBe(1)
    // Readers are not acknowledged for someone else's write.
    expect(bob.peer.of('step1')).toHaveLength(1)
  })

  it('acknowledges nothing when the store fails, and reloads the room from the store', async () => {
    const { store, hub, room, logs, join } = setup()
    const alice = await join()
    alice.write('stored')
    await vi.waitFor(() => expect(store.appends).toBe(1), WAIT)
    await vi.waitFor(
      () => expect(alice.peer.lastStateVector()?.get(alice.doc.clientID)).toBe(1),
      WAIT,
    )
    const bob = await join()
    store.failAppends = new Error('disk full')
    alice.write('lost with the disk')
    await vi.waitFor(() => expect(alice.peer.closedWith).toBeDefined(), WAIT)
    expect(alice.peer.closedWith).toEqual({
      code: CloseCode.SERVICE_RESTART,
      reason: 'room reloading',
    })
    expect(bob.peer.closedWith?.code).toBe(CloseCode.SERVICE_RESTART)
    // No acknowledgement covered the failed write.
    expect(alice.peer.lastStateVector()?.get(alice.doc.clientID)).toBe(1)
    expect(logs.some((line) => line.event === 'relay.store_append_failed')).toBe(true)
    await vi.waitFor(() => expect(hub.isLoaded(room.roomId)).toBe(false), WAIT)

    store.failAppends = null
    const carol = await join()
    const [state] = carol.peer.of('step1') as Extract<Received, { kind: 'step1' }>[]
    expect(state.stateVector.get(alice.doc.clientID)).toBe(1)
  })

  it('on shutdown stores the turn in progress and waits for appends in flight', async () => {
    const { store, hub, room, join } = setup()
    const alice = await join()
    let letThrough!: () => void
    store.gate = new Promise((resolve) => (letThrough = resolve))
    alice.write('in flight at shutdown')
    await nextTurn()
    alice.write('still in this turn at shutdown')
    let closed = false
    const closing = hub.close().then(() => (closed = true))
    await nextTurn()
    expect(closed).toBe(false)
    letThrough()
    await closing
    expect(alice.peer.closedWith).toEqual({ code: CloseCode.GOING_AWAY, reason: 'room unloaded' })
    const stored = await store.load(room.roomId)
    const doc = new Y.Doc()
    for (const update of stored.updates) Y.applyUpdate(doc, update)
    expect(doc.getArray('messages').toArray()).toEqual([
      'in flight at shutdown',
      'still in this turn at shutdown',
    ])
  })

  it('drops a connection that does not read what it is sent', async () => {
    const { logs, join } = setup({ maxBufferedBytes: 1024 })
    const alice = await join()
    const bob = await join()
    bob.peer.bufferedAmount = 4096
    alice.write('for a reader that stopped reading')
    await vi.waitFor(() => expect(bob.peer.closedWith).toBeDefined(), WAIT)
    expect(bob.peer.closedWith).toEqual({
      code: CloseCode.TRY_AGAIN_LATER,
      reason: 'client not reading',
    })
    expect(logs.find((line) => line.limit === 'maxBufferedBytes')).toMatchObject({
      value: 4096,
      max: 1024,
    })
    expect(alice.peer.closedWith).toBeUndefined()
  })

  it('compacts geometrically, and a compacted room loads with everything in it', async () => {
    const { store, hub, room, join } = setup({ compactionMinLogBytes: 256 })
    const alice = await join()
    const writes = 300
    for (let i = 0; i < writes; i++) {
      alice.write(`message ${i} ${'x'.repeat(20)}`)
      await vi.waitFor(() => expect(store.appends).toBe(i + 1), WAIT)
    }
    await vi.waitFor(
      () => expect(alice.peer.lastStateVector()?.get(alice.doc.clientID)).toBe(writes),
      WAIT,
    )
    // Geometric: the log is folded in each time it outgrows the snapshot, so the number of
    // rewrites grows with the log of the room's size, not with the number of writes.
    expect(store.compactions).toBeGreaterThan(1)
    expect(store.compactions).toBeLessThan(12)
    alice.connection.disconnect()
    await hub.close()
    expect(hub.isLoaded(room.roomId)).toBe(false)

    const stored = await store.load(room.roomId)
    const reloaded = new Y.Doc()
    for (const update of stored.updates) Y.applyUpdate(reloaded, update)
    expect(reloaded.getArray('messages').length).toBe(writes)
  })

  it('answers newcomers from one pre-encoded state, encoded again only after a change', async () => {
    const { join } = setup()
    const alice = await join()
    alice.write('before')
    await nextTurn()
    const bob = await join()
    const carol = await join()
    const step2 = (member: { peer: FakePeer }) => member.peer.messages.at(-1)
    bob.connection.receive(syncStep1Frame())
    carol.connection.receive(syncStep1Frame())
    // The same message object: encoded once, and framed once by the endpoint's frame writer.
    expect(step2(carol)).toBe(step2(bob))
    const view = new Y.Doc()
    Y.applyUpdate(view, (bob.peer.of('step2').at(-1) as UpdateMessage).update)
    expect(view.getArray('messages').toArray()).toEqual(['before'])
    alice.write('after')
    await nextTurn()
    bob.connection.receive(syncStep1Frame())
    expect(step2(bob)).not.toBe(step2(carol))
    const later = new Y.Doc()
    Y.applyUpdate(later, (bob.peer.of('step2').at(-1) as UpdateMessage).update)
    expect(later.getArray('messages').toArray()).toEqual(['before', 'after'])
  })

  it('sends idle connections a keepalive each sweep, and busy ones nothing extra', async () => {
    const { hub, join } = setup()
    const alice = await join()
    const bob = await join()
    const awarenessBefore = alice.peer.of('awareness').length
    hub.keepalive() // both were sent their opening state: no keepalive yet
    expect(alice.peer.of('awareness')).toHaveLength(awarenessBefore)
    hub.keepalive() // nothing sent since the last sweep: keepalive
    expect(alice.peer.of('awareness')).toHaveLength(awarenessBefore + 1)
    expect(bob.peer.of('awareness')).toHaveLength(1)
    bob.write('keeps alice busy')
    await nextTurn()
    hub.keepalive()
    expect(alice.peer.of('awareness')).toHaveLength(awarenessBefore + 1)
  })
})
