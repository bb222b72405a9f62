// The room document's boundary: every value read from it passes a check here (key shape, Yjs
// type, size, layout — docs/document-model.md), and the operations people perform on a room
// are written here, each one Yjs transaction so a peer never sees half of it. Signing and
// encryption happen before these calls; this module only stores and reads records.
import * as Y from 'yjs'
import { roomMaps, ROOM_DOC_FORMAT, type RoomMaps } from './schema'
import {
  encodeEdit,
  encodeMember,
  encodeMessage,
  encodeTombstone,
  isKeyId,
  isMessageId,
  parseEdit,
  parseMember,
  parseMessage,
  parseMessageKey,
  parseTombstone,
  type EditRecord,
  type MemberRecord,
  type MessageKey,
  type MessageRecord,
  type Parsed,
  type TombstoneRecord,
} from './records'

/** The maps that hold records, each with the key shape and parser its values must pass. */
export type RecordMap = 'messages' | 'edits' | 'tombstones' | 'members'

const recordRules: Record<
  RecordMap,
  { isKey: (key: string) => boolean; parse: (value: unknown) => Parsed<unknown> }
> = {
  messages: { isKey: isMessageId, parse: parseMessage },
  edits: { isKey: isMessageId, parse: parseEdit },
  tombstones: { isKey: isMessageId, parse: parseTombstone },
  members: { isKey: isKeyId, parse: parseMember },
}

const badKey: Parsed<never> = { ok: false, reason: 'key is not an id' }

/** Typed transaction origin of this browser's own writes, so observers can tell echoes apart. */
export const LOCAL_ORIGIN = Object.freeze({ kind: 'parley-local' as const })

export class RoomDocument {
  readonly maps: RoomMaps

  constructor(readonly doc: Y.Doc) {
    this.maps = roomMaps(doc)
  }

  /** The layout version written by whoever created the room (absent until someone writes). */
  get formatVersion(): number | undefined {
    const value = this.maps.meta.get('format')
    return typeof value === 'number' ? value : undefined
  }

  /** A record read at the boundary: undefined when the map holds nothing under the key (Yjs
   * answers undefined for an absent or deleted entry), else the record or why the value is
   * not one (a Yjs type, a string, a number, bytes that do not parse, a key that is not an
   * id). Never throws, whatever a peer wrote. Each accessor calls its own parser directly:
   * they run for every record when a room loads, and a shared generic helper measured ~20%
   * slower on a 100,000-message timeline. */
  message(id: string): Parsed<MessageRecord> | undefined {
    const value = this.maps.messages.get(id)
    return value === undefined ? undefined : isMessageId(id) ? parseMessage(value) : badKey
  }

  /** The message's sort key without copying its bytes (the whole record is still checked). */
  messageKey(id: string): Parsed<MessageKey> | undefined {
    const value = this.maps.messages.get(id)
    return value === undefined ? undefined : isMessageId(id) ? parseMessageKey(value) : badKey
  }

  edit(id: string): Parsed<EditRecord> | undefined {
    const value = this.maps.edits.get(id)
    return value === undefined ? undefined : isMessageId(id) ? parseEdit(value) : badKey
  }

  tombstone(id: string): Parsed<TombstoneRecord> | undefined {
    const value = this.maps.tombstones.get(id)
    return value === undefined ? undefined : isMessageId(id) ? parseTombstone(value) : badKey
  }

  member(keyId: string): Parsed<MemberRecord> | undefined {
    const value = this.maps.members.get(keyId)
    return value === undefined ? undefined : isKeyId(keyId) ? parseMember(value) : badKey
  }

  /** The keys of a map that have the shape of its ids; others can never name a record. */
  idsOf(map: RecordMap): string[] {
    const { isKey } = recordRules[map]
    const ids: string[] = []
    for (const key of this.maps[map].keys()) if (isKey(key)) ids.push(key)
    return ids
  }

  /** The stored bytes under `key` if they read as a valid record of that map, for copying
   * into another document (recent-records): nothing else is ever copied. */
  validBytes(map: RecordMap, key: string): Uint8Array | undefined {
    const value = this.maps[map].get(key)
    if (!(value instanceof Uint8Array)) return undefined
    const { isKey, parse } = recordRules[map]
    return isKey(key) && parse(value).ok ? value : undefined
  }

  /** Whether the message's current record was written by Yjs client `client` at a clock below
   * `clock` (what delivery is tracked by, session/delivery.ts). Public yjs API only: a snapshot
   * whose state vector holds just `client` up to `clock` shows, for this key, the newest value
   * that client wrote below it — the current record exactly when that write produced it. */
  wroteBefore(id: string, client: number, clock: number): boolean {
    const current = this.maps.messages.get(id)
    if (current === undefined || clock <= 0) return false
    const upTo = Y.createSnapshot(Y.createDeleteSet(), new Map([[client, clock]]))
    return Y.typeMapGetSnapshot(this.maps.messages, id, upTo) === current
  }

  insertMessage(id: string, record: MessageRecord): void {
    if (!isMessageId(id)) throw new Error(`not a message id: ${id}`)
    const bytes = encodeMessage(record)
    this.doc.transact(() => {
      if (this.maps.meta.get('format') === undefined) this.maps.meta.set('format', ROOM_DOC_FORMAT)
      this.maps.messages.set(id, bytes)
    }, LOCAL_ORIGIN)
  }

  /** A v2 edit: the author's new revision replaces the message's own entry (and any v1 edit
   * beside it), so the previous text is garbage-collected on every replica like a delete's
   * (docs/document-model.md, "Edits"). */
  rewriteMessage(id: string, record: MessageRecord): void {
    if (!isMessageId(id)) throw new Error(`not a message id: ${id}`)
    const bytes = encodeMessage(record)
    this.doc.transact(() => {
      this.maps.messages.set(id, bytes)
      if (this.maps.edits.has(id)) this.maps.edits.delete(id)
    }, LOCAL_ORIGIN)
  }

  /** A proven delete put back: the tombstone as it was signed, and the record removed again
   * if it was re-inserted (session/history-keeper.ts). */
  restoreTombstone(id: string, tombstone: Uint8Array): void {
    if (!isMessageId(id) || !parseTombstone(tombstone).ok) throw new Error('not a tombstone')
    this.doc.transact(() => {
      if (!sameBytes(this.maps.tombstones.get(id), tombstone))
        this.maps.tombstones.set(id, tombstone)
      if (this.maps.messages.has(id)) this.maps.messages.delete(id)
      if (this.maps.edits.has(id)) this.maps.edits.delete(id)
    }, LOCAL_ORIGIN)
  }

  /** A message re-inserted after its proven delete, removed again (its tombstone stays). */
  removeResurrected(id: string): void {
    this.doc.transact(() => {
      if (this.maps.messages.has(id)) this.maps.messages.delete(id)
      if (this.maps.edits.has(id)) this.maps.edits.delete(id)
    }, LOCAL_ORIGIN)
  }

  setEdit(id: string, record: EditRecord): void {
    const bytes = encodeEdit(record)
    this.doc.transact(() => this.maps.edits.set(id, bytes), LOCAL_ORIGIN)
  }

  /** Records the signed tombstone and removes the record itself, so its ciphertext is
   * garbage-collected on every replica (docs/document-model.md). */
  deleteMessage(id: string, tombstone: TombstoneRecord): void {
    const bytes = encodeTombstone(tombstone)
    this.doc.transact(() => {
      this.maps.tombstones.set(id, bytes)
      this.maps.messages.delete(id)
      this.maps.edits.delete(id)
    }, LOCAL_ORIGIN)
  }

  setMember(keyId: string, record: MemberRecord): void {
    const bytes = encodeMember(record)
    this.doc.transact(() => this.maps.members.set(keyId, bytes), LOCAL_ORIGIN)
  }
}

function sameBytes(value: unknown, bytes: Uint8Array): boolean {
  if (!(value instanceof Uint8Array) || value.length !== bytes.length) return false
  return value.every((byte, i) => byte === bytes[i])
}
