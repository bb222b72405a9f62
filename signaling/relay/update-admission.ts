// Whether a room takes a client's update into the current turn (docs/relay.md, "Budgets"): the
// update must be a well-formed Yjs update (src/model/update-guard.ts) and must not take the room
// past its byte or struct limit. Refusals name the limit; the room closes the sender with them.

import { checkUpdate } from '../../src/model/update-guard'
import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import type { Violation } from './relay-protocol'
import type { RoomDoc } from './room-doc'
import type { RoomLedger } from './room-ledger'
import type { RoomMember, RoomMembers } from './room-members'
import type { TurnBatcher } from './turn'

export type RoomSizeLimits = Pick<RelayLimits, 'maxRoomBytes' | 'maxRoomStructs'>

/** What the room holds and has on its way, for weighing an update against its limits. */
export interface RoomSize {
  /** Bytes stored, queued for the store and held back by Yjs. */
  bytes: number
  /** Structs in the doc plus the entries of updates waiting in the turn. */
  structs: number
}

export type Admission =
  { ok: true; entries: number } | { ok: false; violation: Violation; tooLarge: boolean }

export function admitUpdate(update: Uint8Array, size: RoomSize, limits: RoomSizeLimits): Admission {
  const check = checkUpdate(update)
  if (!check.ok) {
    return {
      ok: false,
      tooLarge: false,
      violation: {
        code: CloseCode.MALFORMED_MESSAGE,
        limit: 'yjsUpdate',
        value: check.reason,
        reason: 'malformed Yjs update',
      },
    }
  }
  const bytes = size.bytes + update.byteLength
  if (bytes > limits.maxRoomBytes) return tooLarge('maxRoomBytes', bytes, limits.maxRoomBytes)
  const structs = size.structs + check.entries
  if (structs > limits.maxRoomStructs) {
    return tooLarge('maxRoomStructs', structs, limits.maxRoomStructs)
  }
  return { ok: true, entries: check.entries }
}

function tooLarge(limit: string, value: number, max: number): Admission {
  return {
    ok: false,
    tooLarge: true,
    violation: { code: CloseCode.ROOM_TOO_LARGE, limit, value, max, reason: 'room too large' },
  }
}

export interface UpdateIntakeOptions {
  limits: RoomSizeLimits
  turns: TurnBatcher
  ledger: RoomLedger
  doc: RoomDoc
  members: RoomMembers
  /** An update was refused for the room's size: deleted content may still be compacted away. */
  onTooLarge: () => void
}

/** Takes a client's sync step 2 or update into the turn, or refuses it. */
export class UpdateIntake {
  constructor(private readonly options: UpdateIntakeOptions) {}

  receive(member: RoomMember, step: 'step2' | 'update', update: Uint8Array): void {
    const { turns, ledger, doc, members } = this.options
    const turn = turns.current
    // A live update asks to be acknowledged; so does the answer to the relay's opening step 1
    // (a client reconnecting with writes the relay lacks). Later step 2s answer the relay's own
    // acknowledgements: acknowledging those would ping-pong forever.
    const opening = step === 'step2' && !member.sentStep2
    if (step === 'step2') member.sentStep2 = true
    const size = {
      bytes: ledger.storedBytes + ledger.queuedBytes + doc.pendingBytes(),
      structs: doc.countStructs() + turn.receivedEntries,
    }
    const admitted = admitUpdate(update, size, this.options.limits)
    if (!admitted.ok) {
      members.reject(member, admitted.violation)
      if (admitted.tooLarge) this.options.onTooLarge()
      return
    }
    const { entries } = admitted
    if (entries > 0) {
      // Updates are budgeted, not frames: an empty answer to an acknowledgement costs nothing.
      const overRate = member.budget.takeUpdate()
      if (overRate) return members.reject(member, overRate)
    }
    if (step === 'update') turn.writers.add(member)
    else if (opening) turn.askers.add(member)
    // No structs and no deletions (a client with nothing the relay lacks answering its step 1):
    // nothing to apply or store, and applying it would still cost a transaction.
    else if (entries === 0) return
    if (entries > 0) {
      turn.received.push({ update, member })
      turn.receivedEntries += entries
      ledger.queuedBytes += update.byteLength
    }
    turns.schedule()
  }
}
