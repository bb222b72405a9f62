// Every Yjs key name of the room document lives here (docs/architecture.md), so the layout can be read in
// one place and versioned in one place.
import * as Y from 'yjs'

/** Version of the room document layout; bump when a key or record format changes meaning. */
export const ROOM_DOC_FORMAT = 1

export const DocKeys = {
  /** Map: format version and other room-wide facts. */
  meta: 'meta',
  /** Map message id → message record (Uint8Array). Keyed by id so appends cost O(1) at any
   * history length and the same id can only ever show once (docs/architecture.md, "growth traps"). */
  messages: 'messages',
  /** Map message id → latest edit record by the message's author. */
  edits: 'edits',
  /** Map message id → signed tombstone. */
  tombstones: 'tombstones',
  /** Map author key id → self-signed member record (public key, encrypted display name). */
  members: 'members',
} as const

export interface RoomMaps {
  meta: Y.Map<unknown>
  messages: Y.Map<unknown>
  edits: Y.Map<unknown>
  tombstones: Y.Map<unknown>
  members: Y.Map<unknown>
}

/** Values are typed `unknown`: everything in the document may come from a remote peer. */
export function roomMaps(doc: Y.Doc): RoomMaps {
  return {
    meta: doc.getMap(DocKeys.meta),
    messages: doc.getMap(DocKeys.messages),
    edits: doc.getMap(DocKeys.edits),
    tombstones: doc.getMap(DocKeys.tombstones),
    members: doc.getMap(DocKeys.members),
  }
}
