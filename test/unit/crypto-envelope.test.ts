// Content envelopes: round trips, and every way an envelope can fail to open reports
// EnvelopeError with the reason the UI and logs rely on — never another exception type.

import { beforeAll, describe, expect, it } from 'vitest'
import {
  ENVELOPE_VERSION,
  EnvelopeError,
  deriveRoomKeys,
  openEnvelope,
  sealEnvelope,
  utf8,
  type EnvelopeErrorReason,
  type EnvelopePurpose,
} from '../../src/crypto'

const HEADER_BYTES = 13 // version + 12-byte nonce
const TAG_BYTES = 16

let key: CryptoKey
let otherKey: CryptoKey

beforeAll(async () => {
  key = (await deriveRoomKeys('AAECAwQFBgcICQoLDA0ODw')).contentKey
  otherKey = (await deriveRoomKeys('eSfDx0mqGuZBkMC5NtcCc6jS-_vGeSNJvPWreZ1FexI')).contentKey
})

async function expectOpenFails(
  promise: Promise<Uint8Array>,
  reason: EnvelopeErrorReason,
  label?: string,
): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, label).toBeInstanceOf(EnvelopeError)
  expect(error, label).toMatchObject({ name: 'EnvelopeError', reason })
}

function flipped(envelope: Uint8Array, index: number): Uint8Array {
  const copy = envelope.slice()
  copy[index] ^= 0x01
  return copy
}

describe('envelopes', () => {
  it('round-trips empty, short and 64 KiB plaintexts', async () => {
    const large = new Uint8Array(64 * 1024)
    for (let i = 0; i < large.length; i++) large[i] = (i * 31) & 0xff
    for (const plaintext of [new Uint8Array(0), utf8.encode('hello 👋'), large]) {
      const envelope = await sealEnvelope(key, 'message', 'msg-1', plaintext)
      expect(envelope.length).toBe(HEADER_BYTES + plaintext.length + TAG_BYTES)
      expect(envelope[0]).toBe(ENVELOPE_VERSION)
      expect(await openEnvelope(key, 'message', 'msg-1', envelope)).toEqual(plaintext)
    }
  })

  it('round-trips for every purpose, and through a view into a larger buffer', async () => {
    const purposes: EnvelopePurpose[] = ['message', 'edit', 'member', 'presence']
    for (const purpose of purposes) {
      const envelope = await sealEnvelope(key, purpose, 'id/with/slashes', utf8.encode(purpose))
      const padded = new Uint8Array(envelope.length + 10)
      padded.set(envelope, 5)
      const view = padded.subarray(5, 5 + envelope.length)
      expect(utf8.decode(await openEnvelope(key, purpose, 'id/with/slashes', view))).toBe(purpose)
    }
  })

  it('uses a fresh nonce each time', async () => {
    const plaintext = utf8.encode('same text')
    const a = await sealEnvelope(key, 'message', 'm', plaintext)
    const b = await sealEnvelope(key, 'message', 'm', plaintext)
    expect(a.slice(1, HEADER_BYTES)).not.toEqual(b.slice(1, HEADER_BYTES))
    expect(a).not.toEqual(b)
  })

  it('does not change when the caller later reuses its plaintext buffer', async () => {
    const plaintext = utf8.encode('original')
    const sealing = sealEnvelope(key, 'message', 'm', plaintext)
    plaintext.fill(0)
    expect(utf8.decode(await openEnvelope(key, 'message', 'm', await sealing))).toBe('original')
  })

  describe('fails with reason', () => {
    let envelope: Uint8Array
    beforeAll(async () => {
      envelope = await sealEnvelope(key, 'message', 'msg-1', utf8.encode('secret words'))
    })

    it('decrypt, for the wrong key', async () => {
      await expectOpenFails(openEnvelope(otherKey, 'message', 'msg-1', envelope), 'decrypt')
    })

    it('decrypt, for a key that cannot decrypt at all', async () => {
      const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
      ])
      await expectOpenFails(openEnvelope(hmac, 'message', 'msg-1', envelope), 'decrypt')
    })

    it('decrypt, for a flipped bit in the nonce, the ciphertext or the tag', async () => {
      const tagStart = envelope.length - TAG_BYTES
      const positions = {
        'first nonce byte': 1,
        'last nonce byte': HEADER_BYTES - 1,
        'first ciphertext byte': HEADER_BYTES,
        'last ciphertext byte': tagStart - 1,
        'first tag byte': tagStart,
        'last tag byte': envelope.length - 1,
      }
      for (const [label, index] of Object.entries(positions)) {
        await expectOpenFails(
          openEnvelope(key, 'message', 'msg-1', flipped(envelope, index)),
          'decrypt',
          label,
        )
      }
    })

    it('decrypt, for an envelope moved to another message', async () => {
      await expectOpenFails(openEnvelope(key, 'message', 'msg-2', envelope), 'decrypt')
      await expectOpenFails(openEnvelope(key, 'message', 'msg-1 ', envelope), 'decrypt')
      await expectOpenFails(openEnvelope(key, 'message', '', envelope), 'decrypt')
    })

    it('decrypt, for an envelope moved to another purpose', async () => {
      for (const purpose of ['edit', 'member', 'presence'] as const) {
        await expectOpenFails(openEnvelope(key, purpose, 'msg-1', envelope), 'decrypt')
      }
    })

    it('truncated, for anything shorter than header and tag', async () => {
      await expectOpenFails(openEnvelope(key, 'message', 'msg-1', new Uint8Array(0)), 'truncated')
      for (const length of [1, HEADER_BYTES, HEADER_BYTES + TAG_BYTES - 1]) {
        await expectOpenFails(
          openEnvelope(key, 'message', 'msg-1', envelope.slice(0, length)),
          'truncated',
        )
      }
    })

    it('decrypt, for a cut that leaves at least header and tag', async () => {
      // 'secret words' is 12 bytes: cutting all of them still leaves header and tag.
      for (const cut of [1, 12]) {
        await expectOpenFails(
          openEnvelope(key, 'message', 'msg-1', envelope.slice(0, envelope.length - cut)),
          'decrypt',
        )
      }
    })

    it('version, for an unknown version byte, checked before the length', async () => {
      for (const version of [0, 2, 0xff]) {
        const other = envelope.slice()
        other[0] = version
        await expectOpenFails(openEnvelope(key, 'message', 'msg-1', other), 'version')
        await expectOpenFails(openEnvelope(key, 'message', 'msg-1', other.slice(0, 1)), 'version')
      }
    })

    it('decrypt, keeping the WebCrypto error as the cause', async () => {
      const error = await openEnvelope(otherKey, 'message', 'msg-1', envelope).catch(
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(EnvelopeError)
      expect((error as EnvelopeError).cause).toBeDefined()
    })
  })
})
