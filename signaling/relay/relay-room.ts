// One loaded room: its Y.Doc (gc on), its awareness, its connections; what they send, what is
// forwarded and stored, and what is acknowledged. Socket-free: the endpoint hands each
// connection in as a RelayPeer and feeds it the frames it receives.
//
// Per event-loop turn the room collects the updates its clients send, checked but not yet
// applied; at the end of the turn (setImmediate) it applies them all in one transaction, whose
// single update event is what it forwards to the connections and appends to the store — one
// decode each and one encode for the lot, where merging updates cost several times more. Only
// after that append resolves does each writer get a sync step 1 with the relay's state vector:
// "saved to relay" (DESIGN §1). Every state vector the relay sends is one of durably stored
// state, so a client may trust any of them. Appends run one at a time, in order; compaction runs
// beside them, never in their way.
//
// Presence is batched per turn the same way. With an awareness bus (Redis mode) the changes this
// room's own connections made go to the other instances that have the room loaded, and theirs
// come back to be forwarded here, never published again.

import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import type { Logger } from '../log'
import type { LogCursor, RoomStore, StoredRoom } from '../store/room-store'
import { TokenBucket } from '../token-bucket'
import type { AwarenessBus, AwarenessChannel } from './awareness-bus'
import {
  KEEPALIVE_MESSAGE,
  encodeAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  parseRelayMessage,
  type RelayMessage,
  type Violation,
} from './relay-protocol'
import { checkUpdate } from '../../src/model/update-guard'

/** What the room needs from a connection; the WebSocket glue implements it. */
export interface RelayPeer {
  send(message: Uint8Array): void
  close(code: CloseCode, reason: string): void
  /** Bytes queued for this peer and not yet written to the network. */
  readonly bufferedAmount: number
}

/** The room's handle on one connection, returned by `connect`. */
export interface RelayConnection {
  readonly id: number
  /** One binary frame from the peer. */
  receive(frame: Uint8Array): void
  /** The peer's socket closed. Idempotent. */
  disconnect(): void
}

/** Counters the room reports to; the server turns them into Prometheus metrics. */
export interface RelayMetrics {
  messageIn: () => void
  messageOut: () => void
  appendSeconds: (seconds: number) => void
}

export interface RelayRoomOptions {
  roomId: string
  store: RoomStore
  limits: RelayLimits
  logger: Logger
  metrics?: RelayMetrics
  /** Called when the last connection (and hold) is gone: the hub may unload the room. */
  onIdle: (room: RelayRoom) => void
  /** Called once when the room can no longer be trusted in memory: the hub unloads it now. */
  onBroken: (room: RelayRoom) => void
  /** Milliseconds, monotonic; injected so tests control the rate limiters' clock. */
  now?: () => number
  /** Shares presence with other instances (Redis mode); without it, presence stays local. */
  awarenessBus?: AwarenessBus
}

interface Member {
  readonly id: number
  readonly remote: string
  readonly peer: RelayPeer
  readonly bucket: TokenBucket
  readonly syncBucket: TokenBucket
  readonly connectedAt: number
  received: number
  syncRequests: number
  open: boolean
  /** Awareness client ids this connection published states for; removed when it leaves. */
  readonly awarenessClients: Set<number>
  /** Whether anything was sent since the last keepalive sweep. */
  sentSinceSweep: boolean
  /** `durableVersion` of the last state vector this connection was sent. */
  ackedVersion: number
  /** Whether it has sent its first sync step 2 (the answer to the relay's opening step 1). */
  sentStep2: boolean
}

/**
 * Origin of what another instance sent: updates it stored (shared stores) and its clients'
 * presence. Forwarded, never re-appended or re-published.
 */
const REMOTE = Symbol('remote')
/** Origin of presence withdrawn because its connection left: this instance's, so published. */
const LEFT = Symbol('left')
/** A writer's part of a turn from which it is not sent its own writes back (forwardTurn). */
const OWN_PART_WORTH_SKIPPING = 16 * 1024

/** Origin of updates read from the store on load: neither forwarded nor re-appended. */
const LOAD = Symbol('load')
/** Origin of the transaction that applies a turn's client updates. */
const CLIENTS = Symbol('clients')

/** Everything that happened in the room during one event-loop turn. */
interface Turn {
  /** Client updates that passed every check, in arrival order; applied when the turn ends. */
  received: { update: Uint8Array; member: Member }[]
  /** Structs and delete ranges in `received`, counted against the room's limit meanwhile. */
  receivedEntries: number
  /** Updates other instances stored, applied as they came: forwarded, never appended. */
  remote: Uint8Array[]
  /** Connections that sent live updates: acknowledged after the append. */
  writers: Set<Member>
  /** Connections that answered the relay's opening step 1: acknowledged if durable state moved. */
  askers: Set<Member>
  awarenessClients: Set<number>
  /** Who changed awareness this turn (null: the relay itself, e.g. a state timing out). */
  awarenessOrigins: Set<Member | null>
  /** Of `awarenessClients`, those this instance's connections changed: published on the bus. */
  publishClients: Set<number>
}

/** Flushed turns waiting for the next append. */
interface UnsavedTurns {
  /** One per turn that changed the doc, in order. */
  updates: Uint8Array[]
  writers: Set<Member>
  askers: Set<Member>
}

type RoomState = 'open' | 'broken' | 'closed'

let nextConnectionId = 1

export class RelayRoom {
  readonly id: string
  /** First characters of the room id: enough to follow one room through the logs. */
  readonly logId: string
  private readonly doc = new Y.Doc({ gc: true })
  private readonly awareness: awarenessProtocol.Awareness
  private readonly members = new Set<Member>()
  private readonly store: RoomStore
  private readonly limits: RelayLimits
  private readonly logger: Logger
  private readonly metrics: RelayMetrics | undefined
  private readonly now: () => number
  private readonly hooks: Pick<RelayRoomOptions, 'onIdle' | 'onBroken'>
  private state: RoomState = 'open'
  /** Connections being set up (endpoint between `hold` and `connect`): keep the room loaded. */
  private holds = 0
  private turn: Turn = newTurn()
  private flushScheduled = false
  /** The update event of the transaction applying a turn's client updates, caught for `flush`. */
  private clientsUpdate: Uint8Array | null = null
  /** Turns flushed since the last append started: the next append stores them together. */
  private unsaved: UnsavedTurns | null = null
  /** The appends running one after the other until nothing is unsaved; null when idle. */
  private saving: Promise<void> | null = null
  /**
   * The doc's state vector after its latest change: the `afterState` Yjs computes for every
   * transaction anyway. Yjs makes a fresh Map per transaction and never changes it afterwards,
   * so holding one is a snapshot, and comparing references tells whether the doc changed since.
   */
  private docState: Map<number, number>
  private compacting: Promise<void> | null = null
  /** Bytes in the store (an estimate in shared stores), and of them the snapshot. */
  private storedBytes: number
  private snapshotBytes: number
  /** Bytes of local updates collected or sealed but not yet appended. */
  private queuedBytes = 0
  private lastCursor: LogCursor | null
  /** The relay's state vector as of what is durably stored; the only one it ever sends. */
  private durableState: Map<number, number>
  private durableVersion = 0
  /** `durableState` as a sync step 1, encoded once for every connection it goes to. */
  private durableMessage: Uint8Array | null = null
  private readonly stopFollowing: (() => void) | undefined
  private readonly awarenessChannel: AwarenessChannel | undefined
  private unloading: Promise<void> | undefined

  static async load(options: RelayRoomOptions): Promise<RelayRoom> {
    const stored = await options.store.load(options.roomId)
    return new RelayRoom(options, stored)
  }

  private constructor(options: RelayRoomOptions, stored: StoredRoom) {
    this.id = options.roomId
    this.logId = options.roomId.slice(0, 8)
    this.store = options.store
    this.limits = options.limits
    this.logger = options.logger
    this.metrics = options.metrics
    this.now = options.now ?? (() => performance.now())
    this.hooks = { onIdle: options.onIdle, onBroken: options.onBroken }
    // One transaction: one 'update' event (ignored: origin LOAD), one cleanup for the lot.
    this.doc.transact(() => {
      for (const update of stored.updates) Y.applyUpdate(this.doc, update)
    }, LOAD)
    this.storedBytes = stored.bytes
    // A compacted room loads as [snapshot, ...log]; an uncompacted one's first entry is just
    // an update, which at worst delays its first compaction a little.
    this.snapshotBytes = stored.updates[0]?.byteLength ?? 0
    this.lastCursor = stored.cursor
    this.docState = Y.decodeStateVector(Y.encodeStateVector(this.doc))
    this.durableState = this.docState
    this.awareness = new awarenessProtocol.Awareness(this.doc)
    // The relay is not a participant: it has no presence of its own to publish.
    this.awareness.setLocalState(null)
    this.doc.on('update', this.onDocUpdate)
    this.awareness.on('update', this.onAwarenessUpdate)
    this.stopFollowing = this.store.follow?.(this.id, stored.cursor, (updates) =>
      this.applyRemote(updates),
    )
    this.awarenessChannel = options.awarenessBus?.join(this.id, {
      onUpdate: (update) => this.applyRemoteAwareness(update),
      localStates: () => this.encodeLocalAwareness(),
    })
    this.logger.debug('relay.room_loaded', {
      room: this.logId,
      bytes: stored.bytes,
      entries: stored.updates.length,
    })
  }

  get connectionCount(): number {
    return this.members.size
  }

  /** Keeps the room loaded while a connection is being set up; `connect` or `release` ends it. */
  hold(): void {
    this.holds++
  }

  release(): void {
    this.holds--
    this.checkIdle()
  }

  /** Attaches a connection (consuming one hold) and opens the sync: the relay's step 1 first. */
  connect(peer: RelayPeer, info: { remote: string }): RelayConnection {
    const now = this.now()
    const member: Member = {
      id: nextConnectionId++,
      remote: info.remote,
      peer,
      bucket: new TokenBucket(this.limits.messageBurst, this.limits.messagesPerSecond, this.now),
      syncBucket: new TokenBucket(
        this.limits.syncRequestBurst,
        this.limits.syncRequestsPerSecond,
        this.now,
      ),
      connectedAt: now,
      received: 0,
      syncRequests: 0,
      open: true,
      awarenessClients: new Set(),
      sentSinceSweep: false,
      ackedVersion: this.durableVersion,
      sentStep2: false,
    }
    this.holds--
    this.members.add(member)
    this.logger.debug('relay.connected', {
      conn: member.id,
      remote: member.remote,
      room: this.logId,
    })
    if (this.state !== 'open') {
      peer.close(CloseCode.SERVICE_RESTART, 'room reloading')
      this.end(member)
    } else {
      this.send(member, this.durableStateMessage())
      const states = [...this.awareness.getStates().keys()]
      if (states.length > 0) {
        this.send(
          member,
          encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, states)),
        )
      }
    }
    return {
      id: member.id,
      receive: (frame) => this.receive(member, frame),
      disconnect: () => {
        if (!member.open) return
        this.end(member)
        this.logger.debug('relay.disconnected', { conn: member.id, room: this.logId })
      },
    }
  }

  /** Sends the keepalive to every connection that was sent nothing since the last sweep. */
  keepalive(): void {
    for (const member of [...this.members]) {
      if (!member.sentSinceSweep) this.send(member, KEEPALIVE_MESSAGE)
      member.sentSinceSweep = false
    }
  }

  /**
   * Stores what is pending, stops following the store and frees the doc. Connections still
   * attached are closed with `code`. Idempotent.
   */
  unload(code: CloseCode = CloseCode.GOING_AWAY): Promise<void> {
    return (this.unloading ??= this.unloadNow(code))
  }

  private async unloadNow(code: CloseCode): Promise<void> {
    // The turn in progress is forwarded and stored like any other (a broken room's is not).
    this.flush()
    this.state = 'closed'
    for (const member of [...this.members]) {
      this.end(member)
      member.peer.close(code, 'room unloaded')
    }
    this.stopFollowing?.()
    // Without a word to the others: the clients of a shutting-down instance reconnect to
    // another one and go on renewing, and states nobody renews time out everywhere.
    this.awarenessChannel?.leave()
    await this.saving
    await this.compacting
    this.doc.off('update', this.onDocUpdate)
    this.awareness.off('update', this.onAwarenessUpdate)
    this.awareness.destroy()
    this.doc.destroy()
    this.logger.debug('relay.room_unloaded', { room: this.logId })
  }

  private receive(member: Member, frame: Uint8Array): void {
    if (!member.open) return
    member.received++
    this.metrics?.messageIn()
    try {
      this.handle(member, frame)
    } catch (error) {
      // A bug here must cost one connection, never the process.
      this.logger.error('relay.internal_error', { conn: member.id, room: this.logId, error })
      this.end(member)
      member.peer.close(CloseCode.INTERNAL_ERROR, 'internal error')
    }
  }

  private handle(member: Member, frame: Uint8Array): void {
    // Rate first: refusing a flood must not cost a parse per message.
    if (!member.bucket.take()) {
      this.rejectRate(member, 'messagesPerSecond', member.received, this.limits.messagesPerSecond)
      return
    }
    const parsed = parseRelayMessage(frame, this.limits)
    if (!parsed.ok) {
      this.reject(member, parsed.violation)
      return
    }
    const message = parsed.message
    switch (message.type) {
      case 'sync-step1':
        member.syncRequests++
        if (!member.syncBucket.take()) {
          this.rejectRate(
            member,
            'syncRequestsPerSecond',
            member.syncRequests,
            this.limits.syncRequestsPerSecond,
          )
          return
        }
        this.send(member, encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, message.stateVector)))
        return
      case 'sync-update':
        this.applyClientUpdate(member, message)
        return
      case 'awareness':
        this.applyAwareness(member, message.update)
        return
      case 'query-awareness': {
        const states = [...this.awareness.getStates().keys()]
        this.send(
          member,
          encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, states)),
        )
        return
      }
      case 'unknown':
        // Ignored like the stock server does, so a newer client's extra messages do no harm.
        this.logger.debug('relay.unknown_type', { conn: member.id, type: message.messageType })
        return
      default:
        return exhaustive(message)
    }
  }

  private applyClientUpdate(
    member: Member,
    message: Extract<RelayMessage, { type: 'sync-update' }>,
  ): void {
    const { update, step } = message
    // A live update asks to be acknowledged; so does the answer to the relay's opening step 1
    // (a client reconnecting with writes the relay lacks). Later step 2s answer the relay's own
    // acknowledgements: acknowledging those would ping-pong forever.
    const opening = step === 'step2' && !member.sentStep2
    if (step === 'step2') member.sentStep2 = true
    const check = checkUpdate(update)
    if (!check.ok) {
      this.reject(member, {
        code: CloseCode.MALFORMED_MESSAGE,
        limit: 'yjsUpdate',
        value: check.reason,
        reason: 'malformed Yjs update',
      })
      return
    }
    const bytes = this.storedBytes + this.queuedBytes + pendingBytes(this.doc) + update.byteLength
    if (bytes > this.limits.maxRoomBytes) {
      this.rejectTooLarge(member, 'maxRoomBytes', bytes, this.limits.maxRoomBytes)
      return
    }
    const structs = countStructs(this.doc) + this.turn.receivedEntries + check.entries
    if (structs > this.limits.maxRoomStructs) {
      this.rejectTooLarge(member, 'maxRoomStructs', structs, this.limits.maxRoomStructs)
      return
    }
    if (step === 'update') this.turn.writers.add(member)
    else if (opening) this.turn.askers.add(member)
    // No structs and no deletions (a client with nothing the relay lacks answering its step 1):
    // nothing to apply or store, and applying it would still cost a transaction.
    else if (check.entries === 0) return
    if (check.entries > 0) {
      this.turn.received.push({ update, member })
      this.turn.receivedEntries += check.entries
      this.queuedBytes += update.byteLength
    }
    this.scheduleFlush()
  }

  private applyAwareness(member: Member, update: Uint8Array): void {
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, member)
    const clients = member.awarenessClients.size
    if (clients > this.limits.maxAwarenessClientsPerConnection) {
      this.reject(member, {
        code: CloseCode.MALFORMED_MESSAGE,
        limit: 'maxAwarenessClientsPerConnection',
        value: clients,
        max: this.limits.maxAwarenessClientsPerConnection,
        reason: 'too many awareness states',
      })
    }
  }

  /** Presence another instance's clients changed: forwarded here, never published again. */
  private applyRemoteAwareness(update: Uint8Array): void {
    if (this.state !== 'open') return
    try {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, update, REMOTE)
    } catch (error) {
      // Presence only: what applied before the error stays, and its clients renew it anyway.
      this.logger.warn('relay.remote_awareness_failed', { room: this.logId, error })
    }
  }

  /** The states this instance's connections published, for an instance that just loaded it. */
  private encodeLocalAwareness(): Uint8Array | null {
    if (this.state !== 'open') return null
    const states = this.awareness.getStates()
    const clients: number[] = []
    for (const member of this.members) {
      for (const client of member.awarenessClients) if (states.has(client)) clients.push(client)
    }
    if (clients.length === 0) return null
    return awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients)
  }

  /** Updates another instance stored: durable already, so forwarded and never appended. */
  private applyRemote(updates: Uint8Array[]): void {
    if (this.state !== 'open') return
    try {
      this.doc.transact(() => {
        for (const update of updates) Y.applyUpdate(this.doc, update)
      }, REMOTE)
    } catch (error) {
      this.logger.error('relay.remote_update_failed', { room: this.logId, error })
      this.breakRoom('a stored update failed to apply')
      return
    }
    this.storedBytes += updates.reduce((sum, update) => sum + update.byteLength, 0)
  }

  private readonly onDocUpdate = (
    update: Uint8Array,
    origin: unknown,
    _doc: Y.Doc,
    transaction: Y.Transaction,
  ): void => {
    this.docState = transaction.afterState
    if (origin === LOAD || this.state !== 'open') return
    if (origin === CLIENTS) {
      this.clientsUpdate = update
      return
    }
    // REMOTE, or anything else that did not come from a connection: never appended again.
    this.turn.remote.push(update)
    this.scheduleFlush()
  }

  private readonly onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (this.state !== 'open') return
    const member = this.isMember(origin) ? origin : null
    // Ours to publish; REMOTE came from the bus, and 'timeout' happens on every instance.
    const local = member !== null || origin === LEFT
    for (const client of [...changes.added, ...changes.updated, ...changes.removed]) {
      this.turn.awarenessClients.add(client)
      if (local) this.turn.publishClients.add(client)
    }
    if (member) {
      for (const client of [...changes.added, ...changes.updated]) {
        member.awarenessClients.add(client)
      }
      for (const client of changes.removed) member.awarenessClients.delete(client)
    }
    this.turn.awarenessOrigins.add(member)
    this.scheduleFlush()
  }

  private isBroken(): boolean {
    return this.state === 'broken'
  }

  private isMember(origin: unknown): origin is Member {
    return this.members.has(origin as Member)
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => this.flush())
  }

  /** Ends the turn: apply and forward what changed, then store and acknowledge it. */
  private flush(): void {
    if (!this.flushScheduled) return
    this.flushScheduled = false
    const turn = this.turn
    this.turn = newTurn()
    if (this.state !== 'open') return
    // Structs waiting for missing ones may be integrated by this turn: then its update holds
    // other clients' writes too, and even a lone writer lacks part of it.
    const waiting = pendingBytes(this.doc) > 0
    const update = turn.received.length > 0 ? this.applyReceived(turn.received) : null
    if (this.isBroken()) return
    for (const remote of turn.remote) this.forward(remote, null)
    if (update) this.forwardTurn(update, turn.received, waiting)
    if (turn.awarenessClients.size > 0) this.forwardAwareness(turn)
    // The update replaces its parts in the queue (it holds only what was new).
    this.queuedBytes += (update?.byteLength ?? 0) - sum(turn.received.map((r) => r.update))
    if (update || turn.writers.size > 0 || turn.askers.size > 0) {
      this.queueSave(update, turn.writers, turn.askers)
    } else if (turn.remote.length > 0) {
      // Only remote updates: they were durable before they got here.
      this.refreshDurableState()
    }
  }

  /**
   * Applies the turn's client updates in one transaction and returns its update (null when
   * nothing changed). An update Yjs cannot apply breaks the room: part of it may be in the doc.
   */
  private applyReceived(received: Turn['received']): Uint8Array | null {
    this.clientsUpdate = null
    const failed = this.doc.transact(() => {
      for (const { update, member } of received) {
        try {
          Y.applyUpdate(this.doc, update)
        } catch (error) {
          return { member, error }
        }
      }
      return null
    }, CLIENTS)
    const update = this.clientsUpdate
    this.clientsUpdate = null
    if (failed) {
      // Well-formed but meaningless (e.g. a parent that is not a type). Nothing of this turn
      // has been stored or acknowledged: drop it all and reload the room from the store.
      const { member, error } = failed
      this.reject(member, {
        code: CloseCode.MALFORMED_MESSAGE,
        limit: 'yjsUpdate',
        value: `does not apply: ${error instanceof Error ? error.message.slice(0, 80) : 'error'}`,
        reason: 'malformed Yjs update',
      })
      this.breakRoom('an update failed to apply')
    }
    return update
  }

  /**
   * Sends an update to every connection but `skip`: a lone writer already holds what its turn
   * brought. When several wrote, each gets the whole update, its own writes included: a Yjs doc
   * applies what it already holds as a no-op (the stock server echoes every update to its
   * sender), and one frame for everybody is far cheaper than one per writer without its part.
   */
  private forward(update: Uint8Array, skip: Member | null): void {
    const message = encodeSyncUpdate(update)
    for (const member of this.members) if (member !== skip) this.send(member, message)
  }

  /**
   * Forwards a turn's update. A writer whose own part was large (a replica back from offline
   * sending what it wrote meanwhile) gets only the others' updates instead: sending its own
   * writes back would double the bytes of an offline merge, which matter more there than the
   * merge's CPU. Not while updates wait for missing structs (the turn may hold those too).
   */
  private forwardTurn(update: Uint8Array, received: Turn['received'], waiting: boolean): void {
    if (waiting) return this.forward(update, null)
    const lone = loneSender(received)
    if (lone) return this.forward(update, lone)
    const message = encodeSyncUpdate(update)
    for (const member of this.members) {
      const own = received.filter((r) => r.member === member)
      if (sum(own.map((r) => r.update)) < OWN_PART_WORTH_SKIPPING) {
        this.send(member, message)
        continue
      }
      const others = received.filter((r) => r.member !== member).map((r) => r.update)
      this.send(member, encodeSyncUpdate(others.length === 1 ? others[0] : Y.mergeUpdates(others)))
    }
  }

  private forwardAwareness(turn: Turn): void {
    const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, [
      ...turn.awarenessClients,
    ])
    const message = encodeAwareness(update)
    for (const member of [...this.members]) {
      // The only author of this turn's changes already has them.
      if (turn.awarenessOrigins.size === 1 && turn.awarenessOrigins.has(member)) continue
      this.send(member, message)
    }
    if (turn.publishClients.size === 0 || !this.awarenessChannel) return
    // Usually every change of the turn was local: the other instances get the same bytes.
    this.awarenessChannel.publish(
      turn.publishClients.size === turn.awarenessClients.size
        ? update
        : awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...turn.publishClients]),
    )
  }

  /**
   * Queues a turn's update (if it changed anything) for the store and its writers for their
   * acknowledgement. Appends run one at a time, in order; turns flushed while one runs are
   * stored together by the next, so a busy room pays for one append (and one fsync) per store
   * round trip instead of one per turn.
   */
  private queueSave(update: Uint8Array | null, writers: Set<Member>, askers: Set<Member>): void {
    const unsaved = (this.unsaved ??= { updates: [], writers: new Set(), askers: new Set() })
    if (update) unsaved.updates.push(update)
    for (const member of writers) unsaved.writers.add(member)
    for (const member of askers) unsaved.askers.add(member)
    this.saving ??= this.saveAll()
  }

  private async saveAll(): Promise<void> {
    while (this.unsaved && this.state !== 'broken') {
      const turns = this.unsaved
      this.unsaved = null
      await this.save(turns)
    }
    this.saving = null
  }

  private async save({ updates, writers, askers }: UnsavedTurns): Promise<void> {
    // Sealed now: everything in the doc at this moment is stored once this append is, and
    // nothing flushed later is.
    const sealed = this.docState
    if (updates.length > 0) {
      const bytes = sum(updates)
      const started = performance.now()
      try {
        this.lastCursor = await this.store.append(this.id, updates)
      } catch (error) {
        this.logger.error('relay.store_append_failed', {
          room: this.logId,
          kind: this.store.kind,
          bytes,
          error,
        })
        // The doc holds what the store does not: it must not be acknowledged, and the
        // writers must send it again. They will, to a room reloaded from the store.
        this.breakRoom('storing an update failed')
        return
      }
      this.metrics?.appendSeconds((performance.now() - started) / 1000)
      this.storedBytes += bytes
      this.queuedBytes -= bytes
    }
    // (Read again: the room may have broken while the append was in flight.)
    if (this.isBroken()) return
    // With nothing else unsaved, whatever the doc holds now is durable (updates that arrived
    // from other instances meanwhile were durable before they came).
    this.setDurableState(!this.unsaved && !this.flushScheduled ? this.docState : sealed)
    for (const member of writers) if (member.open) this.acknowledge(member)
    for (const member of askers) {
      if (member.open && member.ackedVersion !== this.durableVersion) this.acknowledge(member)
    }
    this.maybeCompact()
  }

  /** Everything in the doc is stored (nothing queued, nothing in flight). */
  private refreshDurableState(): void {
    if (!this.saving && !this.flushScheduled) {
      this.setDurableState(this.docState)
    }
  }

  private setDurableState(state: Map<number, number>): void {
    if (sameState(state, this.durableState)) return
    this.durableState = state
    this.durableVersion++
    this.durableMessage = null
  }

  private durableStateMessage(): Uint8Array {
    return (this.durableMessage ??= encodeSyncStep1(Y.encodeStateVector(this.durableState)))
  }

  /** "Saved to relay": the relay's durable state vector, as a sync step 1. */
  private acknowledge(member: Member): void {
    this.send(member, this.durableStateMessage())
    member.ackedVersion = this.durableVersion
  }

  private maybeCompact(): void {
    if (this.compacting || this.state !== 'open' || this.lastCursor === null) return
    const logBytes = this.storedBytes - this.snapshotBytes
    // Geometric: rewrite the snapshot only once the log has outgrown it, so each stored byte
    // is rewritten a bounded number of times however long the room lives.
    if (logBytes <= Math.max(this.snapshotBytes, this.limits.compactionMinLogBytes)) return
    this.compacting = this.compact()
      .catch((error: unknown) => {
        // The log stays as it is and is still complete; the next append tries again.
        this.logger.warn('relay.compaction_failed', { room: this.logId, error })
      })
      .finally(() => {
        this.compacting = null
      })
  }

  private async compact(): Promise<void> {
    let through: LogCursor
    let coveredBytes: number
    if (this.store.follow) {
      // Shared store: other instances append too, and this doc may not have seen all of their
      // entries up to our last cursor yet. Read what the store holds and merge it in first, so
      // the snapshot contains every entry it replaces.
      const stored = await this.store.load(this.id)
      if (this.state !== 'open' || stored.cursor === null) return
      this.doc.transact(() => {
        for (const update of stored.updates) Y.applyUpdate(this.doc, update)
      }, REMOTE)
      through = stored.cursor
      coveredBytes = stored.bytes
    } else {
      // This process is the store's only writer: the doc holds every entry up to our cursor.
      if (this.lastCursor === null) return
      through = this.lastCursor
      coveredBytes = this.storedBytes
    }
    const snapshot = Y.encodeStateAsUpdate(this.doc)
    await this.store.compact(this.id, snapshot, through)
    // What was appended after `through` while this ran stays in the log beside the snapshot.
    this.storedBytes = snapshot.byteLength + Math.max(0, this.storedBytes - coveredBytes)
    this.snapshotBytes = snapshot.byteLength
    this.logger.debug('relay.compacted', {
      room: this.logId,
      bytes: snapshot.byteLength,
      replacedBytes: coveredBytes,
    })
  }

  private send(member: Member, message: Uint8Array): void {
    if (!member.open) return
    if (member.peer.bufferedAmount > this.limits.maxBufferedBytes) {
      this.reject(member, {
        code: CloseCode.TRY_AGAIN_LATER,
        limit: 'maxBufferedBytes',
        value: member.peer.bufferedAmount,
        max: this.limits.maxBufferedBytes,
        reason: 'client not reading',
      })
      return
    }
    member.peer.send(message)
    member.sentSinceSweep = true
    this.metrics?.messageOut()
  }

  private rejectRate(member: Member, limit: string, count: number, max: number): void {
    const seconds = Math.max(0.001, (this.now() - member.connectedAt) / 1000)
    this.reject(member, {
      code: CloseCode.TRY_AGAIN_LATER,
      limit,
      value: Math.round(count / seconds),
      max,
      reason: 'message rate limit exceeded',
    })
  }

  private rejectTooLarge(member: Member, limit: string, value: number, max: number): void {
    this.reject(member, {
      code: CloseCode.ROOM_TOO_LARGE,
      limit,
      value,
      max,
      reason: 'room too large',
    })
    // Deleted content only leaves the store when it is compacted: give the room its chance.
    this.maybeCompact()
  }

  private reject(member: Member, violation: Violation): void {
    this.logger.warn('relay.rejected', {
      conn: member.id,
      remote: member.remote,
      room: this.logId,
      limit: violation.limit,
      value: violation.value,
      ...(violation.max === undefined ? {} : { max: violation.max }),
      closeCode: violation.code,
      reason: violation.reason,
    })
    this.end(member)
    member.peer.close(violation.code, violation.reason)
  }

  /** Stops all traffic to and from a connection and withdraws its presence. */
  private end(member: Member): void {
    if (!member.open) return
    member.open = false
    this.members.delete(member)
    if (member.awarenessClients.size > 0 && this.state === 'open') {
      awarenessProtocol.removeAwarenessStates(this.awareness, [...member.awarenessClients], LEFT)
    }
    this.checkIdle()
  }

  private checkIdle(): void {
    if (this.state === 'open' && this.members.size === 0 && this.holds === 0) {
      this.hooks.onIdle(this)
    }
  }

  /** Whether the room has no connections and none being set up. */
  get idle(): boolean {
    return this.members.size === 0 && this.holds === 0
  }

  /**
   * The doc no longer matches the store. Nothing unstored is acknowledged; every connection is
   * told to reconnect (1012), and the hub unloads the room so the next connection reloads it.
   */
  private breakRoom(why: string): void {
    if (this.state !== 'open') return
    this.state = 'broken'
    this.logger.warn('relay.room_reset', {
      room: this.logId,
      why,
      connections: this.members.size,
      closeCode: CloseCode.SERVICE_RESTART,
    })
    for (const member of [...this.members]) {
      this.end(member)
      member.peer.close(CloseCode.SERVICE_RESTART, 'room reloading')
    }
    this.hooks.onBroken(this)
  }
}

function newTurn(): Turn {
  return {
    received: [],
    receivedEntries: 0,
    remote: [],
    writers: new Set(),
    askers: new Set(),
    awarenessClients: new Set(),
    awarenessOrigins: new Set(),
    publishClients: new Set(),
  }
}

/** The connection every update of the turn came from, or null when there were several. */
function loneSender(received: Turn['received']): Member | null {
  const first = received[0].member
  return received.every(({ member }) => member === first) ? first : null
}

function sum(updates: Uint8Array[]): number {
  return updates.reduce((total, update) => total + update.byteLength, 0)
}

/** Bytes Yjs holds back waiting for missing dependencies: not stored yet, still memory. */
function pendingBytes(doc: Y.Doc): number {
  return (doc.store.pendingStructs?.update.byteLength ?? 0) + (doc.store.pendingDs?.byteLength ?? 0)
}

/** Structs the doc holds; O(number of client ids). */
function countStructs(doc: Y.Doc): number {
  let count = 0
  for (const structs of doc.store.clients.values()) count += structs.length
  return count
}

function sameState(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a === b) return true
  if (a.size !== b.size) return false
  for (const [client, clock] of a) if (b.get(client) !== clock) return false
  return true
}

function exhaustive(value: never): never {
  throw new Error(`unhandled relay message: ${JSON.stringify(value)}`)
}
