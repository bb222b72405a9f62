// Whether a room takes a client's update into the current turn (docs/relay.md, "Budgets"): the
// update must be a well-formed Yjs update (src/model/update-guard.ts) and what it adds must not
// take the room past its byte or struct limit. Refusals name the limit; the room closes the sender with them.

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
  /** The part of `update` the doc lacks: its structs the doc has not seen, and its deletions. */
  freshPart: (update: Uint8Array) => Uint8Array
}

export type Admission =
  /** `bytes`: what the update counts against the room until its turn is applied. */
  | { ok: true; entries: number; bytes: number }
  | { ok: false; violation: Violation; tooLarge: boolean }

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
  // Cheap first: the whole update as if all of it were new. Only when that would pass a limit
  // is the part the room lacks measured, so a client re-sending what the room holds (a whole
  // room in one sync step 2) is never refused for it: growth counts what applying would add.
  if (
    size.bytes + update.byteLength <= limits.maxRoomBytes &&
    size.structs + check.entries <= limits.maxRoomStructs
  ) {
    return { ok: true, entries: check.entries, bytes: update.byteLength }
  }
  const fresh = size.freshPart(update)
  const freshCheck = checkUpdate(fresh)
  const freshEntries = freshCheck.ok ? freshCheck.entries : check.entries
  const bytes = size.bytes + fresh.byteLength
  if (bytes > limits.maxRoomBytes) return tooLarge('maxRoomBytes', bytes, limits.maxRoomBytes)
  const structs = size.structs + freshEntries
  if (structs > limits.maxRoomStructs) {
    return tooLarge('maxRoomStructs', structs, limits.maxRoomStructs)
  }
  return { ok: true, entries: check.entries, bytes: fresh.byteLength }
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
      freshPart: (candidate: Uint8Array) => doc.missingFrom(candidate),
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
      turn.received.push({ update, member, queuedBytes: admitted.bytes })
      turn.receivedEntries += entries
      ledger.queuedBytes += admitted.bytes
    }
    turns.schedule()
  }
}
