// "Saved to relay" (docs/architecture.md; docs/relay.md, "Saved to relay"): the relay's state vector as of
// what is durably stored, the only one it ever sends, encoded once as a sync step 1 for every
// connection it goes to. A client compares it with its own clocks. Acknowledgements are
// coalesced: a writer gets at most one per ACK_INTERVAL_MS, the later ones of a burst folded
// into one at the end of the interval, which covers all of them.

import * as Y from 'yjs'
import { encodeSyncStep1 } from './relay-protocol'
import { sameState } from './room-doc'
import type { RoomMember, RoomMembers } from './room-members'

// Each acknowledgement costs the relay a frame and the client an answer (a stock client
// answers every sync step 1), which its budget pays for. A person does not notice "saved"
// coming 100 ms later, and a client sending 40 messages a second then answers at most 10.
const ACK_INTERVAL_MS = 100

export class Acknowledger {
  /** Bumped each time the durable state moves; members remember the version they were sent. */
  version = 0
  private message: Uint8Array | null = null
  /** Writers whose acknowledgement waits for the end of their interval. */
  private readonly due = new Set<RoomMember>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly members: RoomMembers,
    /** The state vector of what is durably stored. */
    private durable: Map<number, number>,
    private readonly now: () => number = () => performance.now(),
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

  /**
   * Sends a connection the durable state vector now, or at the end of its interval if it was
   * sent one less than ACK_INTERVAL_MS ago (then with the durable state as of that moment).
   */
  acknowledge(member: RoomMember): void {
    const now = this.now()
    const wait = member.ackedAt + ACK_INTERVAL_MS - now
    if (wait <= 0) return this.send(member, now)
    this.due.add(member)
    if (this.timer) return
    this.timer = setTimeout(() => this.sendDue(), wait)
    this.timer.unref()
  }

  /** Acknowledges a connection only if the durable state moved since it was last sent one. */
  acknowledgeIfMoved(member: RoomMember): void {
    if (member.ackedVersion !== this.version) this.acknowledge(member)
  }

  /** Drops acknowledgements not sent yet (the room is closing or reset). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.due.clear()
  }

  private sendDue(): void {
    this.timer = null
    const now = this.now()
    // All at once: a member that became due late in the interval gets its acknowledgement a
    // little early, which costs one frame at most.
    for (const member of [...this.due]) if (member.open) this.send(member, now)
    this.due.clear()
  }

  private send(member: RoomMember, now: number): void {
    this.due.delete(member)
    this.members.send(member, this.stateMessage())
    member.ackedVersion = this.version
    member.ackedAt = now
  }
}
