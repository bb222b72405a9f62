// "Saved to relay" (DESIGN §1; docs/relay.md, "Saved to relay"): the relay's state vector as of
// what is durably stored, the only one it ever sends, encoded once as a sync step 1 for every
// connection it goes to. A client compares it with its own clocks.

import * as Y from 'yjs'
import { encodeSyncStep1 } from './relay-protocol'
import { sameState } from './room-doc'
import type { RoomMember, RoomMembers } from './room-members'

export class Acknowledger {
  /** Bumped each time the durable state moves; members remember the version they were sent. */
  version = 0
  private message: Uint8Array | null = null

  constructor(
    private readonly members: RoomMembers,
    /** The state vector of what is durably stored. */
    private durable: Map<number, number>,
  ) {}

  /** Everything in `state` is durably stored now. */
  set(state: Map<number, number>): void {
    if (sameState(state, this.durable)) return
    this.durable = state
    this.version++
    this.message = null
  }

  /** The durable state vector as a sync step 1 (also the relay's opening message). */
  stateMessage(): Uint8Array {
    return (this.message ??= encodeSyncStep1(Y.encodeStateVector(this.durable)))
  }

  /** Sends a connection the durable state vector. */
  acknowledge(member: RoomMember): void {
    this.members.send(member, this.stateMessage())
    member.ackedVersion = this.version
  }

  /** Acknowledges a connection only if the durable state moved since it was last sent one. */
  acknowledgeIfMoved(member: RoomMember): void {
    if (member.ackedVersion !== this.version) this.acknowledge(member)
  }
}
