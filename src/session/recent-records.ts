// The room's newest messages, kept beside its document so that opening a room paints them
// before the whole document is read (DESIGN §3 "first paint from a small local cache"): the
// records as the document holds them — still encrypted and signed, checked again when shown —
// with their edits, tombstones and their authors' member entries, as the update of a small
// Yjs document of the same layout. Timeline and member directory read it like the room itself
// until the room has loaded (Timeline.rebase, MemberDirectory.rebase).
import * as Y from 'yjs'
import { RoomDocument, type RoomMaps } from '../model'
import type { TimelineEntry } from './timeline'

/** A tall window shows about 25 messages; twice that covers scrolling up a little. */
export const RECENT_MESSAGES = 50

/** The update of a small document holding what it takes to show these entries. */
export function encodeRecentRecords(
  room: RoomDocument,
  entries: readonly TimelineEntry[],
): Uint8Array {
  const recent = new RoomDocument(new Y.Doc())
  const from = room.maps
  const to = recent.maps
  recent.doc.transact(() => {
    for (const entry of entries.slice(-RECENT_MESSAGES)) {
      copy(from, to, 'messages', entry.id)
      copy(from, to, 'edits', entry.id)
      copy(from, to, 'tombstones', entry.id)
      copy(from, to, 'members', entry.key.author)
    }
  })
  return Y.encodeStateAsUpdate(recent.doc)
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

function copy(from: RoomMaps, to: RoomMaps, map: keyof RoomMaps, key: string): void {
  const value = from[map].get(key)
  if (value !== undefined && !to[map].has(key)) to[map].set(key, value)
}
