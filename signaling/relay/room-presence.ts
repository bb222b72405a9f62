// A loaded room's presence (y-protocols awareness; docs/relay.md, "Structure"): what its
// connections publish, batched per event-loop turn and forwarded to the others; with an
// awareness bus (Redis mode), this instance's changes go to the other instances that have the
// room loaded, and theirs come back to be forwarded here, never published again.

import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { RelayLimits } from '../limits'
import type { Logger } from '../log'
import type { AwarenessBus, AwarenessChannel } from './awareness-bus'
import { encodeAwareness, type Violation } from './relay-protocol'
import { CloseCode } from '../close-codes'
import type { RoomMember, RoomMembers } from './room-members'

/** Origin of presence another instance's clients set: forwarded, never published again. */
const REMOTE = Symbol('remote-presence')
/** Origin of presence withdrawn because its connection left: this instance's, so published. */
const LEFT = Symbol('left')

/** Presence changes of one turn. */
export interface PresenceTurn {
  readonly clients: Set<number>
  /** Who changed awareness this turn (null: the relay itself, e.g. a state timing out). */
  readonly origins: Set<RoomMember | null>
  /** Of `clients`, those this instance's connections changed: published on the bus. */
  readonly publish: Set<number>
}

export interface RoomPresenceOptions {
  roomId: string
  logId: string
  members: RoomMembers
  limits: Pick<RelayLimits, 'maxAwarenessClientsPerConnection'>
  logger: Logger
  awarenessBus?: AwarenessBus
  /** Whether the room still serves its connections (presence is dropped otherwise). */
  isOpen: () => boolean
  /** Presence changed this turn: the room should end the turn soon. */
  onChange: () => void
}

export class RoomPresence {
  private readonly awareness: awarenessProtocol.Awareness
  private readonly channel: AwarenessChannel | undefined
  private turn: PresenceTurn = newPresenceTurn()
  private changed = false

  constructor(private readonly options: RoomPresenceOptions) {
    // Its own doc: awareness needs one only for a client id (the relay publishes no state), and
    // the room's doc is replaced when it is rebuilt (room-doc.ts).
    this.awareness = new awarenessProtocol.Awareness(new Y.Doc())
    // The relay is not a participant: it has no presence of its own to publish.
    this.awareness.setLocalState(null)
    this.awareness.on('update', this.onUpdate)
    this.channel = options.awarenessBus?.join(options.roomId, {
      onUpdate: (update) => this.applyRemote(update),
      localStates: () => this.encodeLocal(),
    })
  }

  /** Every state, as one awareness message (null when nobody is present). */
  statesMessage(): Uint8Array | null {
    const clients = [...this.awareness.getStates().keys()]
    if (clients.length === 0) return null
    return encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients))
  }

  /** The same, even when empty (the answer to a query). */
  queryAnswer(): Uint8Array {
    const clients = [...this.awareness.getStates().keys()]
    return encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients))
  }

  /** Applies a connection's awareness update; a violation when it claims too many clients. */
  apply(member: RoomMember, update: Uint8Array): Violation | null {
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, member)
    const clients = member.awarenessClients.size
    const max = this.options.limits.maxAwarenessClientsPerConnection
    if (clients <= max) return null
    return {
      code: CloseCode.MALFORMED_MESSAGE,
      limit: 'maxAwarenessClientsPerConnection',
      value: clients,
      max,
      reason: 'too many awareness states',
    }
  }

  /** A connection left: its states go, for everyone here and on the other instances. */
  withdraw(member: RoomMember): void {
    if (member.awarenessClients.size === 0) return
    awarenessProtocol.removeAwarenessStates(this.awareness, [...member.awarenessClients], LEFT)
  }

  /** This turn's changes (null when none), and a fresh batch for the next turn. */
  takeTurn(): PresenceTurn | null {
    if (!this.changed) return null
    const turn = this.turn
    this.turn = newPresenceTurn()
    this.changed = false
    return turn
  }

  /** Sends a turn's changes to the connections that lack them, and to the other instances. */
  forward(turn: PresenceTurn, send: (member: RoomMember, message: Uint8Array) => void): void {
    const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...turn.clients])
    const message = encodeAwareness(update)
    for (const member of [...this.options.members]) {
      // The only author of this turn's changes already has them.
      if (turn.origins.size === 1 && turn.origins.has(member)) continue
      send(member, message)
    }
    if (turn.publish.size === 0 || !this.channel) return
    // Usually every change of the turn was local: the other instances get the same bytes.
    this.channel.publish(
      turn.publish.size === turn.clients.size
        ? update
        : awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...turn.publish]),
    )
  }

  /**
   * Stops listening to the bus, without a word to the others: the clients of a shutting-down
   * instance reconnect to another one and go on renewing, and states nobody renews time out
   * everywhere.
   */
  leave(): void {
    this.channel?.leave()
  }

  destroy(): void {
    this.awareness.off('update', this.onUpdate)
    this.awareness.destroy()
    this.awareness.doc.destroy()
  }

  /** Presence another instance's clients changed: forwarded here, never published again. */
  private applyRemote(update: Uint8Array): void {
    if (!this.options.isOpen()) return
    try {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, update, REMOTE)
    } catch (error) {
      // Presence only: what applied before the error stays, and its clients renew it anyway.
      this.options.logger.warn('relay.remote_awareness_failed', {
        room: this.options.logId,
        error,
      })
    }
  }

  /** The states this instance's connections published, for an instance that just loaded it. */
  private encodeLocal(): Uint8Array | null {
    if (!this.options.isOpen()) return null
    const states = this.awareness.getStates()
    const clients: number[] = []
    for (const member of this.options.members) {
      for (const client of member.awarenessClients) if (states.has(client)) clients.push(client)
    }
    if (clients.length === 0) return null
    return awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients)
  }

  private readonly onUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (!this.options.isOpen()) return
    const member = this.options.members.has(origin) ? origin : null
    // Ours to publish; REMOTE came from the bus, and 'timeout' happens on every instance.
    const local = member !== null || origin === LEFT
    for (const client of [...changes.added, ...changes.updated, ...changes.removed]) {
      this.turn.clients.add(client)
      if (local) this.turn.publish.add(client)
    }
    if (member) {
      for (const client of [...changes.added, ...changes.updated]) {
        member.awarenessClients.add(client)
      }
      for (const client of changes.removed) member.awarenessClients.delete(client)
    }
    this.turn.origins.add(member)
    this.changed = true
    this.options.onChange()
  }
}

function newPresenceTurn(): PresenceTurn {
  return { clients: new Set(), origins: new Set(), publish: new Set() }
}
