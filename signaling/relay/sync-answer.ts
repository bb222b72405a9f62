// Answers to sync requests (docs/relay.md, "Serving state"): a client that sends its state
// vector gets what it lacks; a newcomer (empty state vector) gets the room's pre-encoded state
// (room-doc.ts: the stored snapshot, or one encode per change), and every newcomer until the
// room changes gets the same message object, which the frame writer then frames only once.
// A newcomer that asked for them is sent the room's newest records on connect, before it asks
// for the room, cached the same way (docs/relay.md, "Newest records first").

import * as Y from 'yjs'
import { encodeNewestRecordsMessage, encodeSyncStep2 } from './relay-protocol'
import type { RoomDoc } from './room-doc'

export class SyncAnswers {
  /** The last newcomer's sync step 2 and the encoded state it carries. */
  private newcomer: { state: Uint8Array; message: Uint8Array } | null = null

  /** The last newest-records message and the update it carries. */
  private newest: { update: Uint8Array; message: Uint8Array } | null = null

  constructor(private readonly doc: RoomDoc) {}

  /** The room's newest records for a newcomer that asked, or null when it has no message. */
  newestRecords(): Uint8Array | null {
    const update = this.doc.newestRecords()
    if (!update) return null
    if (this.newest?.update !== update) {
      this.newest = { update, message: encodeNewestRecordsMessage(update) }
    }
    return this.newest.message
  }

  answer(stateVector: Uint8Array): Uint8Array {
    if (Y.decodeStateVector(stateVector).size > 0) {
      return encodeSyncStep2(this.doc.encodeMissing(stateVector))
    }
    const state = this.doc.fullState()
    if (this.newcomer?.state !== state) {
      this.newcomer = { state, message: encodeSyncStep2(state) }
    }
    return this.newcomer.message
  }
}
