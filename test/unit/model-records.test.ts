import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import {
  MAX_ENVELOPE_BYTES,
  MAX_MESSAGE_CHARS,
  PayloadError,
  encodeMember,
  encodeMessage,
  encodeMessagePayload,
  encodeTombstone,
  isMessageId,
  messageSigningBytes,
  editSigningBytes,
  parseMember,
  parseMessage,
  parseMessagePayload,
  parseTombstone,
  type MessageRecord,
} from '../../src/model'

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill)
const message: MessageRecord = {
  stamp: { wall: 1_700_000_000_000, counter: 3 },
  author: bytes(16, 1),
  envelope: bytes(80, 2),
  signature: bytes(64, 3),
}

describe('message records', () => {
  it('round-trip', () => {
    const parsed = parseMessage(encodeMessage(message))
    expect(parsed).toEqual({ ok: true, value: message })
  })

  it('are compact: a few bytes beyond their fields', () => {
    const size = encodeMessage(message).length
    expect(size).toBeLessThanOrEqual(16 + 80 + 64 + 12)
  })

  const hostile: [string, unknown][] = [
    ['undefined', undefined],
    ['a string', 'hello'],
    ['a number', 42],
    ['an object', { stamp: 1 }],
    ['an array', [1, 2, 3]],
    ['empty bytes', new Uint8Array()],
    ['a future version', Uint8Array.of(2, 1, 1)],
    ['a truncated record', encodeMessage(message).slice(0, 30)],
    ['trailing bytes', Uint8Array.of(...encodeMessage(message), 0)],
    ['random bytes', Uint8Array.from({ length: 200 }, (_, i) => (i * 73 + 11) & 0xff)],
  ]
  for (const [name, value] of hostile) {
    it(`reject ${name} with a reason`, () => {
      const parsed = parseMessage(value)
      expect(parsed.ok).toBe(false)
      if (!parsed.ok) expect(parsed.reason).toMatch(/\w/)
    })
  }

  it('reject an envelope length beyond the limit before reading it', () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 0)
    encoding.writeUint8Array(e, bytes(16))
    encoding.writeVarUint(e, MAX_ENVELOPE_BYTES + 1)
    expect(parseMessage(encoding.toUint8Array(e))).toEqual({
      ok: false,
      reason: 'envelope too large',
    })
  })

  it('reject a stamp beyond safe integers', () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 2 ** 60)
    expect(parseMessage(encoding.toUint8Array(e)).ok).toBe(false)
  })
})

describe('tombstones and members', () => {
  it('round-trip', () => {
    const stone = { stamp: { wall: 5, counter: 0 }, author: bytes(16), signature: bytes(64) }
    expect(parseTombstone(encodeTombstone(stone))).toEqual({ ok: true, value: stone })
    const member = {
      stamp: { wall: 5, counter: 1 },
      publicKey: bytes(32),
      envelope: bytes(40),
      signature: bytes(64),
    }
    expect(parseMember(encodeMember(member))).toEqual({ ok: true, value: member })
  })

  it('a message record is not a valid tombstone', () => {
    expect(parseTombstone(encodeMessage(message)).ok).toBe(false)
  })
})

describe('signing bytes', () => {
  it('differ per room, id, kind and field', () => {
    const base = messageSigningBytes('room-a', 'id', message)
    expect(messageSigningBytes('room-b', 'id', message)).not.toEqual(base)
    expect(messageSigningBytes('room-a', 'id2', message)).not.toEqual(base)
    expect(editSigningBytes('room-a', 'id', message)).not.toEqual(base)
    const moved = { ...message, stamp: { wall: message.stamp.wall + 1, counter: 3 } }
    expect(messageSigningBytes('room-a', 'id', moved)).not.toEqual(base)
  })
})

describe('message ids and payloads', () => {
  it('ids are 22 base64url characters', () => {
    expect(isMessageId('AAAAAAAAAAAAAAAAAAAAAA')).toBe(true)
    expect(isMessageId('AAAA')).toBe(false)
    expect(isMessageId('AAAAAAAAAAAAAAAAAAAAA/')).toBe(false)
  })

  it('payloads round-trip and carry "sent offline"', () => {
    const payload = { text: 'héllo\nworld 👋', sentOffline: true }
    expect(parseMessagePayload(encodeMessagePayload(payload))).toEqual(payload)
  })

  it('refuse empty and over-long text with a clear message', () => {
    expect(() => encodeMessagePayload({ text: '   ', sentOffline: false })).toThrow(/empty/)
    expect(() =>
      encodeMessagePayload({ text: 'x'.repeat(MAX_MESSAGE_CHARS + 1), sentOffline: false }),
    ).toThrow(PayloadError)
  })

  it('reject hostile payloads', () => {
    const enc = (s: string) => new TextEncoder().encode(s)
    for (const raw of ['', 'null', '[]', '{"v":2,"t":"x"}', '{"v":1}', '{"v":1,"t":5}'])
      expect(() => parseMessagePayload(enc(raw))).toThrow(PayloadError)
    expect(() => parseMessagePayload(Uint8Array.of(0xff, 0xfe))).toThrow(PayloadError)
  })
})
