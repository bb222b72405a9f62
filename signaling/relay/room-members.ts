// The connections attached to one loaded room (docs/relay.md, "Structure"): the only way
// anything is sent to one (refused when its peer stopped reading), closing one with a named
// reason and one log line, and the keepalive sweep.

import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import type { Logger } from '../log'
import type { ConnectionBudget } from './connection-budget'
import type { Violation } from './relay-protocol'

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

let nextConnectionId = 1

/** One attached connection and what the room remembers about it. */
export class RoomMember {
  readonly id = nextConnectionId++
  open = true
  /** Awareness client ids this connection published states for; removed when it leaves. */
  readonly awarenessClients = new Set<number>()
  /** Whether anything was sent since the last keepalive sweep. */
  sentSinceSweep = false
  /** Whether it has sent its first sync step 2 (the answer to the relay's opening step 1). */
  sentStep2 = false

  constructor(
    readonly remote: string,
    readonly peer: RelayPeer,
    /** What it may still send (rates); see connection-budget.ts. */
    readonly budget: ConnectionBudget,
    /** `Acknowledger.version` of the last state vector this connection was sent. */
    public ackedVersion: number,
  ) {}

  /** When (performance.now()) it was last acknowledged; the opening step 1 does not count. */
  ackedAt = -Infinity
}

export interface RoomMembersOptions {
  logId: string
  limits: Pick<RelayLimits, 'maxBufferedBytes'>
  logger: Logger
  metrics?: RelayMetrics
  /** A member stopped being attached (left, refused or closed by the room). */
  onEnd: (member: RoomMember) => void
}

export class RoomMembers implements Iterable<RoomMember> {
  private readonly attached = new Set<RoomMember>()

  constructor(private readonly options: RoomMembersOptions) {}

  get size(): number {
    return this.attached.size
  }

  [Symbol.iterator](): Iterator<RoomMember> {
    return this.attached[Symbol.iterator]()
  }

  add(member: RoomMember): void {
    this.attached.add(member)
  }

  /** Whether `origin` (a transaction or awareness origin) is one of this room's members. */
  has(origin: unknown): origin is RoomMember {
    return this.attached.has(origin as RoomMember)
  }

  send(member: RoomMember, message: Uint8Array): void {
    if (!member.open) return
    const { maxBufferedBytes } = this.options.limits
    if (member.peer.bufferedAmount > maxBufferedBytes) {
      this.reject(member, {
        code: CloseCode.TRY_AGAIN_LATER,
        limit: 'maxBufferedBytes',
        value: member.peer.bufferedAmount,
        max: maxBufferedBytes,
        reason: 'client not reading',
      })
      return
    }
    member.peer.send(message)
    member.sentSinceSweep = true
    this.options.metrics?.messageOut()
  }

  /** Closes a connection for breaking a rule, with the rule's close code and one log line. */
  reject(member: RoomMember, violation: Violation): void {
    this.options.logger.warn('relay.rejected', {
      conn: member.id,
      remote: member.remote,
      room: this.options.logId,
      limit: violation.limit,
      value: violation.value,
      ...(violation.max === undefined ? {} : { max: violation.max }),
      closeCode: violation.code,
      reason: violation.reason,
    })
    this.end(member)
    member.peer.close(violation.code, violation.reason)
  }

  /** Stops all traffic to and from a connection. Idempotent. */
  end(member: RoomMember): void {
    if (!member.open) return
    member.open = false
    this.attached.delete(member)
    this.options.onEnd(member)
  }

  /** Ends every connection and closes its socket with `code`. */
  closeAll(code: CloseCode, reason: string): void {
    for (const member of [...this.attached]) {
      this.end(member)
      member.peer.close(code, reason)
    }
  }

  /** Sends `message` to every connection that was sent nothing since the last sweep. */
  keepalive(message: Uint8Array): void {
    for (const member of [...this.attached]) {
      if (!member.sentSinceSweep) this.send(member, message)
      member.sentSinceSweep = false
    }
  }
}
