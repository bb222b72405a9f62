// Version 2 record formats (docs/document-model.md, "Record formats"): a message carries its
// author's public key, revision and revision stamp; a tombstone its author's key and the
// deleted record's hash. Every malformed variant is refused with a reason, never a throw.
import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import {
  MAX_REVISION,
  encodeMessage,
  encodeTombstone,
  messageSigningBytes,
  messageSigningBytesV2,
  parseMessage,
  parseMessageKey,
  parseTombstone,
  tombstoneSigningBytes,
  type MessageRecordV2,
  type TombstoneRecord,
} from '../../src/model'

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill)
const stamp = { wall: 1_700_000_000_000, counter: 3 }
const message: MessageRecordV2 = {
  stamp,
  author: bytes(16, 1),
  publicKey: bytes(32, 4),
  revision: 0,
  revised: stamp,
  envelope: bytes(80, 2),
  signature: bytes(64, 3),
}
const edited: MessageRecordV2 = {
  ...message,
  revision: 2,
  revised: { wall: stamp.wall + 5, counter: 0 },
}
const tombstone: TombstoneRecord = {
  stamp,
  author: bytes(16, 1),
  publicKey: bytes(32, 4),
  deleted: bytes(32, 5),
  signature: bytes(64, 6),
}

/** A v2 message written field by field, so each field can be made wrong. */
function rawMessage(fields: {
  version?: number
  revision?: number
  revised?: { wall: number; counter: number }
  publicKeyBytes?: number
  trailing?: boolean
}): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, fields.version ?? 2)
  encoding.writeVarUint(e, stamp.wall)
  encoding.writeVarUint(e, stamp.counter)
  encoding.writeUint8Array(e, bytes(16, 1))
  encoding.writeUint8Array(e, bytes(fields.publicKeyBytes ?? 32, 4))
  encoding.writeVarUint(e, fields.revision ?? 0)
  const revised = fields.revised ?? stamp
  encoding.writeVarUint(e, revised.wall)
  encoding.writeVarUint(e, revised.counter)
  encoding.writeVarUint8Array(e, bytes(80, 2))
  encoding.writeUint8Array(e, bytes(64, 3))
  if (fields.trailing) encoding.writeUint8(e, 0)
  return encoding.toUint8Array(e)
}

describe('v2 message records', () => {
  it('round-trip, first written and edited', () => {
    expect(parseMessage(encodeMessage(message))).toEqual({ ok: true, value: message })
    expect(parseMessage(encodeMessage(edited))).toEqual({ ok: true, value: edited })
    expect(encodeMessage(message)[0]).toBe(2)
  })

  it('give their sort key and revision without copying', () => {
    const key = parseMessageKey(encodeMessage(edited))
    expect(key.ok && key.value.revision).toBe(2)
    expect(key.ok && [...key.value.author]).toEqual([...message.author])
  })

  const hostile: [string, Uint8Array][] = [
    [
      'a revision 0 stamped later than the message',
      rawMessage({ revised: { wall: stamp.wall + 1, counter: 0 } }),
    ],
    [
      'an edit stamped before the message',
      rawMessage({ revision: 1, revised: { wall: stamp.wall - 1, counter: 0 } }),
    ],
    ['an edit stamped as the message', rawMessage({ revision: 1 })],
    [
      'a revision out of range',
      rawMessage({ revision: MAX_REVISION + 1, revised: { wall: stamp.wall + 1, counter: 0 } }),
    ],
    ['a short public key', rawMessage({ publicKeyBytes: 31 })],
    ['trailing bytes', rawMessage({ trailing: true })],
    ['an unknown version', rawMessage({ version: 3 })],
    ['a truncated record', encodeMessage(message).subarray(0, 60)],
  ]
  for (const [name, value] of hostile)
    it(`reject ${name}`, () => {
      const parsed = parseMessage(value)
      expect(parsed.ok).toBe(false)
      expect(parseMessageKey(value).ok).toBe(false)
    })

  it('sign over the key, revision and revision stamp, apart from v1', () => {
    const base = messageSigningBytesV2('room', 'id', message)
    expect(messageSigningBytesV2('room', 'id', edited)).not.toEqual(base)
    expect(
      messageSigningBytesV2('room', 'id', { ...message, publicKey: bytes(32, 9) }),
    ).not.toEqual(base)
    expect(messageSigningBytes('room', 'id', message)).not.toEqual(base)
  })
})

describe('v2 tombstones', () => {
  it('round-trip', () => {
    expect(parseTombstone(encodeTombstone(tombstone))).toEqual({ ok: true, value: tombstone })
    expect(encodeTombstone(tombstone)[0]).toBe(2)
  })

  it('reject a missing hash, trailing bytes and a message record', () => {
    const full = encodeTombstone(tombstone)
    expect(parseTombstone(full.subarray(0, full.length - 1)).ok).toBe(false)
    expect(parseTombstone(Uint8Array.from([...full, 0])).ok).toBe(false)
    expect(parseTombstone(encodeMessage(message)).ok).toBe(false)
  })

  it('sign over the deleted hash and key, apart from v1', () => {
    const base = tombstoneSigningBytes('room', 'id', tombstone)
    expect(
      tombstoneSigningBytes('room', 'id', { ...tombstone, deleted: bytes(32, 8) }),
    ).not.toEqual(base)
    const { stamp: s, author } = tombstone
    expect(tombstoneSigningBytes('room', 'id', { stamp: s, author })).not.toEqual(base)
    expect(tombstoneSigningBytes('room', 'other', tombstone)).not.toEqual(base)
  })
})
