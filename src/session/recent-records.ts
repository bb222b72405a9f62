// The room's newest messages, kept beside its document so that opening a room paints them
// before the whole document is read (docs/architecture.md, "first paint from a small local cache"): the
// records as the document holds them — still encrypted and signed, checked again when shown —
// with their edits, tombstones and their authors' member entries, as the update of a small
// Yjs document of the same layout. Timeline and member directory read it like the room itself
// until the room has loaded (Timeline.rebase, MemberDirectory.rebase). Only values that read
// as valid records are copied (RoomDocument.validBytes, docs/document-model.md): a Yjs type, a
// string or a number where a record belongs stays behind.
import * as Y from 'yjs'
import { RoomDocument, type RecordMap } from '../model'
import type { TimelineEntry } from './timeline'

/** A tall window shows about 25 messages; twice that covers scrolling up a little. */
export const RECENT_MESSAGES = 50

/** The update of a small document holding what it takes to show these entries. */
export function encodeRecentRecords(
  room: RoomDocument,
  entries: readonly TimelineEntry[],
): Uint8Array {
  const recent = new RoomDocument(new Y.Doc())
  try {
    recent.doc.transact(() => {
      for (const entry of entries.slice(-RECENT_MESSAGES)) {
        copy(room, recent, 'messages', entry.id)
        copy(room, recent, 'edits', entry.id)
        copy(room, recent, 'tombstones', entry.id)
        copy(room, recent, 'members', entry.key.author)
      }
    })
    return Y.encodeStateAsUpdate(recent.doc)
  } finally {
    recent.doc.destroy()
  }
}

/** The stored newest messages as a document to read from; undefined if they do not decode
 * (corrupt local data: the room then opens without them, nothing else is affected). */
export function decodeRecentRecords(update: Uint8Array): RoomDocument | undefined {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, update)
  } catch {
    doc.destroy()
    return undefined
  }
  return new RoomDocument(doc)
}

function copy(from: RoomDocument, to: RoomDocument, map: RecordMap, key: string): void {
  const bytes = from.validBytes(map, key)
  if (bytes !== undefined && !to.maps[map].has(key)) to.maps[map].set(key, bytes)
}
