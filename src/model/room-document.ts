// The operations people perform on a room, each one Yjs transaction so a peer never sees half
// of it. Signing and encryption happen before these calls; this module only stores records.
import * as Y from 'yjs'
import { roomMaps, ROOM_DOC_FORMAT, type RoomMaps } from './schema'
import {
  encodeEdit,
  encodeMember,
  encodeMessage,
  encodeTombstone,
  isMessageId,
  type EditRecord,
  type MemberRecord,
  type MessageRecord,
  type TombstoneRecord,
} from './records'

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

  /** The Yjs id (writer client, clock) of a message's record: what delivery is tracked by. */
  writeIdOf(id: string): { client: number; clock: number } | undefined {
    // Y.Map keeps its entries' items in `_map`; stable across yjs 13 and the only way to
    // learn which write produced a value.
    const item = (this.maps.messages as unknown as { _map: Map<string, Y.Item> })._map.get(id)
    return item && !item.deleted ? { client: item.id.client, clock: item.id.clock } : undefined
  }

  insertMessage(id: string, record: MessageRecord): void {
    if (!isMessageId(id)) throw new Error(`not a message id: ${id}`)
    const bytes = encodeMessage(record)
    this.doc.transact(() => {
      if (this.maps.meta.get('format') === undefined) this.maps.meta.set('format', ROOM_DOC_FORMAT)
      this.maps.messages.set(id, bytes)
    }, LOCAL_ORIGIN)
  }

  setEdit(id: string, record: EditRecord): void {
    const bytes = encodeEdit(record)
    this.doc.transact(() => this.maps.edits.set(id, bytes), LOCAL_ORIGIN)
  }

  /** Records the signed tombstone and removes the record itself, so its ciphertext is
   * garbage-collected on every replica (DESIGN §2 "Deleting"). */
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
