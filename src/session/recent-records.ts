// The room's newest messages, kept beside its document so that opening a room paints them
// before the whole document is read (docs/architecture.md, "first paint from a small local cache"): the
// records as the document holds them — still encrypted and signed, checked again when shown —
// as the small document model/newest-records.ts builds, the same one the relay sends a newcomer
// (docs/relay.md). Timeline and member directory read it like the room itself until the room
// has loaded (Timeline.rebase, MemberDirectory.rebase).
import {
  NEWEST_MESSAGES,
  NEWEST_RECORDS_MAX_BYTES,
  decodeNewestRecords,
  encodeNewestRecords,
  type RoomDocument,
} from '../model'
import type { TimelineEntry } from './timeline'

export const RECENT_MESSAGES = NEWEST_MESSAGES

/** The update of a small document holding what it takes to show these entries. */
export function encodeRecentRecords(
  room: RoomDocument,
  entries: readonly TimelineEntry[],
  maxBytes = Infinity,
): Uint8Array {
  const newest = entries.slice(-RECENT_MESSAGES).map(({ id, key }) => ({ id, author: key.author }))
  return encodeNewestRecords(room, newest, maxBytes)
}

/** What a peer sends a newcomer before the room (docs/webrtc.md, "Newest records first"):
 * these entries' newest records within the newcomer's bound; null for a room with none. */
export function newestForNewcomer(
  room: RoomDocument,
  entries: readonly TimelineEntry[],
): Uint8Array | null {
  return entries.length === 0 ? null : encodeRecentRecords(room, entries, NEWEST_RECORDS_MAX_BYTES)
}

/** The stored newest messages as a document to read from; undefined if they do not decode
 * (corrupt local data: the room then opens without them, nothing else is affected). */
export function decodeRecentRecords(update: Uint8Array): RoomDocument | undefined {
  return decodeNewestRecords(update)
}
