// RoomDocument reads every value at the boundary (docs/document-model.md): whatever a peer
// wrote under a key — a Yjs type, a string, a number, truncated or oversized bytes, a key that
// is not an id — the accessors answer "absent", a record, or a reason, and never throw.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  MAX_ENVELOPE_BYTES,
  RoomDocument,
  encodeMember,
  encodeMessage,
  encodeTombstone,
  type MessageRecord,
  type RecordMap,
} from '../../src/model'
import { encodeRecentRecords, decodeRecentRecords } from '../../src/session/recent-records'
import { Timeline } from '../../src/session/timeline'

const id = (n: number) => `${'A'.repeat(21)}${'ABCDEFGHIJ'[n]}`
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill)
const record = (wall: number): MessageRecord => ({
  stamp: { wall, counter: 0 },
  author: bytes(16, 1),
  envelope: bytes(40, 2),
  signature: bytes(64, 3),
})

/** Values a token holder can put where a record belongs. */
function hostileValues(): [string, () => unknown][] {
  const valid = encodeMessage(record(1_000))
  return [
    ['a Y.Map', () => new Y.Map()],
    ['a Y.Array', () => Y.Array.from([1, 2])],
    ['a Y.Text', () => new Y.Text('hi')],
    ['a Y.XmlFragment', () => new Y.XmlFragment()],
    ['a subdocument', () => new Y.Doc()],
    ['a string', () => 'record'],
    ['a number', () => 42],
    ['null', () => null],
    ['an object', () => ({ v: 1 })],
    ['an array', () => [valid]],
    ['truncated bytes', () => valid.slice(0, valid.length - 1)],
    ['trailing bytes', () => Uint8Array.from([...valid, 0])],
    ['oversized bytes', () => new Uint8Array(MAX_ENVELOPE_BYTES * 2)],
    ['empty bytes', () => new Uint8Array(0)],
  ]
}

const MAPS: RecordMap[] = ['messages', 'edits', 'tombstones', 'members']

describe('RoomDocument accessors', () => {
  for (const [name, make] of hostileValues()) {
    it(`refuse ${name} in every record map, with a reason`, () => {
      const room = new RoomDocument(new Y.Doc())
      for (const map of MAPS) room.maps[map].set(id(1), make())
      for (const read of [
        () => room.message(id(1)),
        () => room.messageKey(id(1)),
        () => room.edit(id(1)),
        () => room.tombstone(id(1)),
        () => room.member(id(1)),
      ]) {
        const parsed = read()
        expect(parsed?.ok).toBe(false)
      }
      for (const map of MAPS) expect(room.validBytes(map, id(1))).toBeUndefined()
      room.doc.destroy()
    })
  }

  it('answer undefined for an absent or deleted entry, and a reason for a key that is no id', () => {
    const room = new RoomDocument(new Y.Doc())
    expect(room.message(id(1))).toBeUndefined()
    room.maps.members.set(
      id(2),
      encodeMember({
        stamp: { wall: 1, counter: 0 },
        publicKey: bytes(32),
        envelope: bytes(30),
        signature: bytes(64),
      }),
    )
    expect(room.member(id(2))?.ok).toBe(true)
    room.maps.members.delete(id(2))
    expect(room.member(id(2))).toBeUndefined()
    room.maps.messages.set('x'.repeat(10_000), encodeMessage(record(5)))
    expect(room.message('x'.repeat(10_000))).toEqual({ ok: false, reason: 'key is not an id' })
    expect([...room.idsOf('messages')]).toEqual([])
    room.doc.destroy()
  })
})

describe('who wrote a message (wroteBefore, what delivery is tracked by)', () => {
  it('names the client and clock of the write that produced the current record, and nothing else', () => {
    const writer = new Y.Doc()
    const room = new RoomDocument(writer)
    room.insertMessage(id(0), record(1_000))
    const client = writer.clientID
    const after = Y.getState(writer.store, client)
    expect(room.wroteBefore(id(0), client, after)).toBe(true)
    // The message's item is the last this client wrote: one clock earlier does not cover it.
    expect(room.wroteBefore(id(0), client, after - 1)).toBe(false)
    expect(room.wroteBefore(id(0), client + 1, after)).toBe(false)
    expect(room.wroteBefore(id(1), client, after)).toBe(false)

    // Another client overwrites the key: the current record is no longer ours.
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(writer))
    other.getMap('messages').set(id(0), encodeMessage(record(2_000)))
    Y.applyUpdate(writer, Y.encodeStateAsUpdate(other))
    expect(room.wroteBefore(id(0), client, after)).toBe(false)
    expect(room.wroteBefore(id(0), other.clientID, Y.getState(writer.store, other.clientID))).toBe(
      true,
    )
  })

  it('answers false once the message is deleted', () => {
    const writer = new Y.Doc()
    const room = new RoomDocument(writer)
    room.insertMessage(id(0), record(1_000))
    const client = writer.clientID
    room.deleteMessage(id(0), {
      stamp: { wall: 2_000, counter: 0 },
      author: bytes(16, 1),
      signature: bytes(64, 3),
    })
    expect(room.wroteBefore(id(0), client, Number.MAX_SAFE_INTEGER)).toBe(false)
  })
})

describe('the kept newest messages', () => {
  it('copy only valid records, whatever else the room holds (a Y.Map under an edit threw)', () => {
    const room = new RoomDocument(new Y.Doc())
    room.maps.messages.set(id(1), encodeMessage(record(1_000)))
    room.maps.messages.set(id(2), encodeMessage(record(2_000)))
    room.maps.tombstones.set(
      id(2),
      encodeTombstone({
        stamp: { wall: 2_000, counter: 0 },
        author: bytes(16, 1),
        signature: bytes(64),
      }),
    )
    room.maps.edits.set(id(1), new Y.Map())
    room.maps.edits.set(id(2), new Y.Doc())
    room.maps.members.set(bytesKey(), new Y.Text('not a member'))
    const timeline = new Timeline(
      room,
      () => {},
      () => 3_000,
    )
    const update = encodeRecentRecords(room, timeline.entries())
    const recent = decodeRecentRecords(update)
    expect(recent).toBeDefined()
    expect([...recent!.idsOf('messages')].sort()).toEqual([id(1), id(2)])
    expect(recent!.maps.edits.size).toBe(0)
    expect(recent!.maps.members.size).toBe(0)
    expect(recent!.tombstone(id(2))?.ok).toBe(true)
    timeline.destroy()
    room.doc.destroy()
  })
})

/** The key id of the records' author (16 bytes of 1) in base64url. */
function bytesKey(): string {
  return Buffer.from(bytes(16, 1)).toString('base64url')
}
