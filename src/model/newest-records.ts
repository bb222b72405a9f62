// The newest messages of a room as a small Yjs document of the same layout: each message's
// record with its edit and tombstone and its author's member entry, still encrypted and signed.
// Browsers keep one for their next first paint (session/recent-records.ts), and the relay sends
// one to a newcomer before the whole room (docs/relay.md, "Newest records first"). Only values
// that read as valid records are copied (RoomDocument.validBytes): nothing else ever is.
import * as Y from 'yjs'
import { RoomDocument, type RecordMap } from './room-document'

/** A tall window shows about 25 messages; twice that covers scrolling up a little. */
export const NEWEST_MESSAGES = 50

/**
 * Largest newest-records update the relay sends and a browser accepts. It travels before the
 * whole room, so it must move fast even on a slow link (~0.25 s at 1 MB/s); 50 messages of
 * ~5 KB of ciphertext each fit, and a room of longer ones sends fewer (the newest first).
 */
export const NEWEST_RECORDS_MAX_BYTES = 256 * 1024

/** The y-websocket message type that carries newest records from the relay to a newcomer that
 * asked (docs/relay.md): far above the stock (0–3) and Hocuspocus (0–8) types. */
export const NEWEST_RECORDS_MESSAGE = 100

/** One message to copy: its id and its author's key id (base64url, the members map's key). */
export interface NewestMessage {
  readonly id: string
  readonly author: string
}

/**
 * The update of a small document holding what it takes to show `messages` (oldest first, as a
 * timeline lists them). Records are taken newest first while their bytes fit in `maxBytes`,
 * so a budget cuts the oldest ones off.
 */
export function encodeNewestRecords(
  room: RoomDocument,
  messages: readonly NewestMessage[],
  maxBytes = Infinity,
): Uint8Array {
  const newest = new RoomDocument(new Y.Doc())
  try {
    let bytes = 0
    newest.doc.transact(() => {
      for (let i = messages.length - 1; i >= 0; i--) {
        const { id, author } = messages[i]
        const copies: [RecordMap, string, Uint8Array][] = []
        for (const map of ['messages', 'edits', 'tombstones'] as const) {
          const value = room.validBytes(map, id)
          if (value && !newest.maps[map].has(id)) copies.push([map, id, value])
        }
        const member = room.validBytes('members', author)
        if (member && !newest.maps.members.has(author)) copies.push(['members', author, member])
        const size = copies.reduce((total, [, , value]) => total + value.byteLength, 0)
        if (bytes + size > maxBytes) break
        bytes += size
        for (const [map, key, value] of copies) newest.maps[map].set(key, value)
      }
    })
    return Y.encodeStateAsUpdate(newest.doc)
  } finally {
    newest.doc.destroy()
  }
}

/** Newest records as a document to read from; undefined if they do not decode. Whoever sent
 * them is not trusted: every read goes through RoomDocument's checked accessors. */
export function decodeNewestRecords(update: Uint8Array): RoomDocument | undefined {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, update)
  } catch {
    doc.destroy()
    return undefined
  }
  return new RoomDocument(doc)
}
