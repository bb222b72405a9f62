// One loaded room, composed of parts with one job each (docs/relay.md, "Structure"): doc,
// members, connection-budget, update-admission, sync-answer, turn, forwarder, persister,
// acknowledger, compactor, room-presence. This object reads each frame, routes it to its part,
// and owns the room's life: load, connect, reset, unload. Socket-free: the endpoint hands each
// connection in as a RelayPeer and feeds it its frames. Per turn the room collects the checked
// client updates, applies them in one transaction at the end of the turn, forwards and appends
// its single update event, and acknowledges the writers once the append resolved.

import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import type { Logger } from '../log'
import type { RoomStore, StoredRoom } from '../store/room-store'
import { Acknowledger } from './acknowledger'
import type { AwarenessBus } from './awareness-bus'
import { Compactor } from './compactor'
import { ConnectionBudget } from './connection-budget'
import { Forwarder, sum } from './forwarder'
import { Persister } from './persister'
import { KEEPALIVE_MESSAGE, parseRelayMessage } from './relay-protocol'
import { RoomDoc, type ReceivedUpdate } from './room-doc'
import { RoomLedger } from './room-ledger'
import {
  RoomMember,
  RoomMembers,
  type RelayConnection,
  type RelayMetrics,
  type RelayPeer,
} from './room-members'
import { RoomPresence } from './room-presence'
import { SyncAnswers } from './sync-answer'
import { TurnBatcher, type Turn } from './turn'
import { UpdateIntake } from './update-admission'

export type { RelayConnection, RelayMetrics, RelayPeer } from './room-members'

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

type RoomState = 'open' | 'broken' | 'closed'

export class RelayRoom {
  readonly id: string
  /** First characters of the room id: enough to follow one room through the logs. */
  readonly logId: string
  private readonly options: RelayRoomOptions
  private readonly now: () => number
  private readonly doc: RoomDoc
  private readonly members: RoomMembers
  private readonly presence: RoomPresence
  private readonly turns: TurnBatcher
  private readonly forwarder: Forwarder
  private readonly ledger: RoomLedger
  private readonly acknowledger: Acknowledger
  private readonly persister: Persister
  private readonly compactor: Compactor
  private readonly intake: UpdateIntake
  private readonly syncAnswers: SyncAnswers
  private state: RoomState = 'open'
  /** Connections being set up (endpoint between `hold` and `connect`): keep the room loaded. */
  private holds = 0
  private readonly stopFollowing: (() => void) | undefined
  private unloading: Promise<void> | undefined

  static async load(options: RelayRoomOptions): Promise<RelayRoom> {
    const stored = await options.store.load(options.roomId)
    return new RelayRoom(options, stored)
  }

  private constructor(options: RelayRoomOptions, stored: StoredRoom) {
    const { roomId, store, limits, logger } = options
    this.id = roomId
    this.logId = roomId.slice(0, 8)
    this.options = options
    this.now = options.now ?? (() => performance.now())
    const isOpen = () => this.state === 'open'
    this.turns = new TurnBatcher((turn) => this.endTurn(turn))
    this.doc = new RoomDoc(stored.updates, (update) => {
      if (!isOpen()) return
      this.turns.current.remote.push(update)
      this.turns.schedule()
    })
    this.members = new RoomMembers({
      logId: this.logId,
      limits,
      logger,
      metrics: options.metrics,
      onEnd: (member) => {
        if (isOpen()) this.presence.withdraw(member)
        this.checkIdle()
      },
    })
    this.presence = new RoomPresence({
      roomId,
      logId: this.logId,
      members: this.members,
      limits,
      logger,
      awarenessBus: options.awarenessBus,
      isOpen,
      onChange: () => this.turns.schedule(),
    })
    this.forwarder = new Forwarder(this.members)
    // A compacted room loads as [snapshot, ...log]; an uncompacted one's first entry is just
    // an update, which at worst delays its first compaction a little.
    this.ledger = new RoomLedger(stored.bytes, stored.updates[0]?.byteLength ?? 0, stored.cursor)
    this.acknowledger = new Acknowledger(this.members, this.doc.state)
    this.compactor = new Compactor({
      roomId,
      logId: this.logId,
      store,
      doc: this.doc,
      ledger: this.ledger,
      limits,
      logger,
      isOpen,
    })
    this.persister = new Persister({
      roomId,
      logId: this.logId,
      store,
      ledger: this.ledger,
      acknowledger: this.acknowledger,
      logger,
      metrics: options.metrics,
      docState: () => this.doc.state,
      turnPending: () => this.turns.pending,
      isBroken: () => this.state === 'broken',
      onAppendFailed: (why) => this.breakRoom(why),
      onSaved: () => this.compactor.maybeCompact(),
    })
    this.syncAnswers = new SyncAnswers(this.doc)
    this.intake = new UpdateIntake({
      limits,
      turns: this.turns,
      ledger: this.ledger,
      doc: this.doc,
      members: this.members,
      onTooLarge: () => this.compactor.maybeCompact(),
    })
    this.stopFollowing = store.follow?.(roomId, stored.cursor, (updates) =>
      this.applyRemote(updates),
    )
    logger.debug('relay.room_loaded', {
      room: this.logId,
      bytes: stored.bytes,
      entries: stored.updates.length,
    })
  }

  get connectionCount(): number {
    return this.members.size
  }

  /** Whether the room has no connections and none being set up. */
  get idle(): boolean {
    return this.members.size === 0 && this.holds === 0
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
  connect(peer: RelayPeer, info: { remote: string; newestFirst?: boolean }): RelayConnection {
    const budget = new ConnectionBudget(this.options.limits, this.now)
    const member = new RoomMember(info.remote, peer, budget, this.acknowledger.version)
    this.holds--
    this.members.add(member)
    this.options.logger.debug('relay.connected', {
      conn: member.id,
      remote: member.remote,
      room: this.logId,
    })
    if (this.state !== 'open') {
      peer.close(CloseCode.SERVICE_RESTART, 'room reloading')
      this.members.end(member)
    } else {
      this.members.send(member, this.acknowledger.stateMessage())
      const states = this.presence.statesMessage()
      if (states) this.members.send(member, states)
      // A newcomer that asked: the newest records before the room it is about to ask for
      // (docs/relay.md, "Newest records first").
      const newest = info.newestFirst ? this.syncAnswers.newestRecords() : null
      if (newest) this.members.send(member, newest)
    }
    return {
      id: member.id,
      receive: (frame) => this.receive(member, frame),
      disconnect: () => {
        if (!member.open) return
        this.members.end(member)
        this.options.logger.debug('relay.disconnected', { conn: member.id, room: this.logId })
      },
    }
  }

  /** Sends the keepalive to every connection that was sent nothing since the last sweep. */
  keepalive(): void {
    this.members.keepalive(KEEPALIVE_MESSAGE)
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
    this.turns.flush()
    this.state = 'closed'
    this.acknowledger.stop()
    this.members.closeAll(code, 'room unloaded')
    this.stopFollowing?.()
    this.presence.leave()
    await this.persister.settled
    await this.compactor.settled
    this.presence.destroy()
    this.doc.destroy()
    this.options.logger.debug('relay.room_unloaded', { room: this.logId })
  }

  private receive(member: RoomMember, frame: Uint8Array): void {
    if (!member.open) return
    this.options.metrics?.messageIn()
    try {
      this.handle(member, frame)
    } catch (error) {
      // A bug here must cost one connection, never the process.
      this.options.logger.error('relay.internal_error', {
        conn: member.id,
        room: this.logId,
        error,
      })
      this.members.end(member)
      member.peer.close(CloseCode.INTERNAL_ERROR, 'internal error')
    }
  }

  private handle(member: RoomMember, frame: Uint8Array): void {
    // Rate first: refusing a flood must not cost a parse per message.
    const overRate = member.budget.takeFrame(frame.byteLength)
    if (overRate) return this.members.reject(member, overRate)
    const parsed = parseRelayMessage(frame, this.options.limits)
    if (!parsed.ok) return this.members.reject(member, parsed.violation)
    const message = parsed.message
    switch (message.type) {
      case 'sync-step1': {
        const tooMany = member.budget.takeSyncRequest()
        if (tooMany) return this.members.reject(member, tooMany)
        this.members.send(member, this.syncAnswers.answer(message.stateVector))
        return
      }
      case 'sync-update':
        return this.intake.receive(member, message.step, message.update)
      case 'awareness': {
        const violation = this.presence.apply(member, message.update)
        if (violation) this.members.reject(member, violation)
        return
      }
      case 'query-awareness':
        this.members.send(member, this.presence.queryAnswer())
        return
      case 'unknown':
        // Ignored like the stock server does, so a newer client's extra messages do no harm.
        this.options.logger.debug('relay.unknown_type', {
          conn: member.id,
          type: message.messageType,
        })
        return
      default:
        return exhaustive(message)
    }
  }

  /** Updates another instance stored: durable already, so forwarded and never appended. */
  private applyRemote(updates: Uint8Array[]): void {
    if (this.state !== 'open') return
    try {
      this.doc.applyRemote(updates)
    } catch (error) {
      this.options.logger.error('relay.remote_update_failed', { room: this.logId, error })
      this.breakRoom('a stored update failed to apply')
      return
    }
    this.ledger.storedElsewhere(sum(updates))
  }

  /** Ends the turn: apply and forward what changed, then store and acknowledge it. */
  private endTurn(turn: Turn): void {
    const presence = this.presence.takeTurn()
    if (this.state !== 'open') return
    // Structs waiting for missing ones may be integrated by this turn: then its update holds
    // other clients' writes too, and even a lone writer lacks part of it.
    const waiting = this.doc.pendingBytes() > 0
    const { update, applied, failed } = this.applyReceived(turn)
    if (this.isBroken()) return
    for (const remote of turn.remote) this.forwarder.forward(remote, null)
    // A refused update may have left part of itself in (too costly: what integrated before
    // its budget ran out), which nobody else holds: everyone is sent the whole turn then.
    if (update) this.forwarder.forwardTurn(update, applied, waiting || failed)
    if (presence && presence.clients.size > 0) {
      this.presence.forward(presence, (member, message) => this.members.send(member, message))
    }
    // The update replaces its parts in the queue (it holds only what was new).
    this.ledger.queuedBytes +=
      (update?.byteLength ?? 0) - turn.received.reduce((total, r) => total + r.queuedBytes, 0)
    if (update || turn.writers.size > 0 || turn.askers.size > 0) {
      this.persister.queue(update, turn.writers, turn.askers)
    } else if (turn.remote.length > 0) {
      // Only remote updates: they were durable before they got here.
      this.persister.refreshDurableState()
    }
  }

  /**
   * Applies the turn's client updates in one transaction (docs/relay.md, "A bad update"). An
   * update Yjs cannot apply, or that takes more work than its sender may spend, costs its
   * sender's connection only; the room resets only if it cannot be rebuilt (rebuilds spent).
   */
  private applyReceived(turn: Turn): {
    update: Uint8Array | null
    applied: ReceivedUpdate[]
    failed: boolean
  } {
    if (turn.received.length === 0) return { update: null, applied: [], failed: false }
    const result = this.doc.applyClients(turn.received, (member) => member.budget.workAllowance())
    for (const failure of result.failures) {
      const { member } = failure
      if (failure.kind === 'malformed') {
        const { error } = failure
        this.members.reject(member, {
          code: CloseCode.MALFORMED_MESSAGE,
          limit: 'yjsUpdate',
          value: `does not apply: ${error instanceof Error ? error.message.slice(0, 80) : 'error'}`,
          reason: 'malformed Yjs update',
        })
      } else {
        this.members.reject(member, member.budget.workViolation(failure.steps, failure.perUpdate))
      }
    }
    // Nothing of this turn has been stored or acknowledged: reload the room from the store.
    if (result.unrecoverable) this.breakRoom('an update failed to apply, rebuilds spent')
    const failedMembers = new Set(result.failures.map((failure) => failure.member))
    return {
      update: result.update,
      applied: turn.received.filter((r) => !failedMembers.has(r.member)),
      failed: failedMembers.size > 0,
    }
  }

  private isBroken(): boolean {
    return this.state === 'broken'
  }

  private checkIdle(): void {
    if (this.state === 'open' && this.idle) this.options.onIdle(this)
  }

  /**
   * The doc no longer matches the store. Nothing unstored is acknowledged; every connection is
   * told to reconnect (1012), and the hub unloads the room so the next connection reloads it.
   */
  private breakRoom(why: string): void {
    if (this.state !== 'open') return
    this.state = 'broken'
    this.acknowledger.stop()
    this.options.logger.warn('relay.room_reset', {
      room: this.logId,
      why,
      connections: this.members.size,
      closeCode: CloseCode.SERVICE_RESTART,
    })
    this.members.closeAll(CloseCode.SERVICE_RESTART, 'room reloading')
    this.options.onBroken(this)
  }
}

function exhaustive(value: never): never {
  throw new Error(`unhandled relay message: ${JSON.stringify(value)}`)
}
