// Answers to sync requests (docs/relay.md, "Serving state"): a client that sends its state
// vector gets what it lacks; a newcomer (empty state vector) gets the room's pre-encoded state
// (room-doc.ts: the stored snapshot, or one encode per change), and every newcomer until the
// room changes gets the same message object, which the frame writer then frames only once.

import * as Y from 'yjs'
import { encodeSyncStep2 } from './relay-protocol'
import type { RoomDoc } from './room-doc'

export class SyncAnswers {
  /** The last newcomer's sync step 2 and the encoded state it carries. */
  private newcomer: { state: Uint8Array; message: Uint8Array } | null = null

  constructor(private readonly doc: RoomDoc) {}

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
