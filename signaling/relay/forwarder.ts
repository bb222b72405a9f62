// Forwarding policy (docs/relay.md, "Structure"): which connections are sent a turn's update,
// and in what form. One frame encoded once for everybody, except where sending a writer its own
// large part back would cost more bytes than the merge saves.

import * as Y from 'yjs'
import { encodeSyncUpdate } from './relay-protocol'
import type { ReceivedUpdate } from './room-doc'
import type { RoomMember, RoomMembers } from './room-members'

/** A writer's part of a turn from which it is not sent its own writes back (forwardTurn). */
const OWN_PART_WORTH_SKIPPING = 16 * 1024

export class Forwarder {
  constructor(private readonly members: RoomMembers) {}

  /**
   * Sends an update to every connection but `skip`: a lone writer already holds what its turn
   * brought. When several wrote, each gets the whole update, its own writes included: a Yjs doc
   * applies what it already holds as a no-op (the stock server echoes every update to its
   * sender), and one frame for everybody is far cheaper than one per writer without its part.
   */
  forward(update: Uint8Array, skip: RoomMember | null): void {
    const message = encodeSyncUpdate(update)
    for (const member of this.members) if (member !== skip) this.members.send(member, message)
  }

  /**
   * Forwards a turn's update. A writer whose own part was large (a replica back from offline
   * sending what it wrote meanwhile) gets only the others' updates instead: sending its own
   * writes back would double the bytes of an offline merge, which matter more there than the
   * merge's CPU. Not while updates wait for missing structs (`waiting`: the turn may hold those
   * too, which even a lone writer lacks).
   */
  forwardTurn(update: Uint8Array, received: readonly ReceivedUpdate[], waiting: boolean): void {
    if (waiting) return this.forward(update, null)
    const lone = loneSender(received)
    if (lone) return this.forward(update, lone)
    const message = encodeSyncUpdate(update)
    for (const member of this.members) {
      const own = received.filter((r) => r.member === member)
      if (sum(own.map((r) => r.update)) < OWN_PART_WORTH_SKIPPING) {
        this.members.send(member, message)
        continue
      }
      const others = received.filter((r) => r.member !== member).map((r) => r.update)
      this.members.send(
        member,
        encodeSyncUpdate(others.length === 1 ? others[0] : Y.mergeUpdates(others)),
      )
    }
  }
}

/** The connection every update of the turn came from, or null when there were several. */
function loneSender(received: readonly ReceivedUpdate[]): RoomMember | null {
  const first = received[0].member
  return received.every(({ member }) => member === first) ? first : null
}

export function sum(updates: readonly Uint8Array[]): number {
  return updates.reduce((total, update) => total + update.byteLength, 0)
}
