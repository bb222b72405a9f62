// Room link secret and derived keys (docs/architecture.md). The known-answer vectors were computed once
// with Node's own crypto, independently of src/crypto:
//
//   const d = (label) => hkdfSync('sha256', secretBytes, 'parley', label, 32)
//   relayToken     = base64url(d('parley/v1/relay-token'))
//   roomId         = base64url(sha256(ascii(relayToken)))
//   webrtcPassword = base64url(d('parley/v1/webrtc-password'))
//   envelope       = [1] ‖ nonce 000102…0b ‖ aes-256-gcm(key = d('parley/v1/content-key'),
//                    aad = 'parley/v1/message/msg-1', plaintext = 'hello, parley') ‖ tag
//
// The envelope pins the content key, which is non-extractable and cannot be compared directly.

import { describe, expect, it } from 'vitest'
import {
  ROOM_SECRET_BYTES,
  deriveRoomKeys,
  fromBase64Url,
  isRoomId,
  isRoomSecret,
  newRoomSecret,
  openEnvelope,
  roomIdFromRelayToken,
  sealEnvelope,
  toBase64Url,
  utf8,
} from '../../src/crypto'

const VECTORS = [
  {
    // bytes 00 01 … 0f: the minimum length
    secret: 'AAECAwQFBgcICQoLDA0ODw',
    relayToken: '_h0VHcSuWLFUgtuTiN8Mes7XTb4RDlYF7pz8oqjsTZ4',
    roomId: 'qmaQq1UZsxpiUfCc_wW8R0wkPDdRsa4xxzrt_2pYJB4',
    webrtcPassword: '9UcLDpJ4EQuoQBN-v_rJJwuA54_EdLfzycoHXCFJNE0',
    envelope: 'AQABAgMEBQYHCAkKC6UPyl9IsThscN-ntjwck9ODMBUAucc_vpiAz7-_',
  },
  {
    // 32 random bytes: a longer secret than newRoomSecret makes
    secret: 'eSfDx0mqGuZBkMC5NtcCc6jS-_vGeSNJvPWreZ1FexI',
    relayToken: 'Dz2kZNMTJqQc150qtdRFWKP24-AovEv7icKSJ6FA5Eo',
    roomId: 'w6-tz2pnH7q9qJNIqSbcE69WN1k6550D-ZjRNc-CzIo',
    webrtcPassword: 'd0GxHrp54cZztOIFdWm7TrIhoHISkFFFXRHj6hi2Zmk',
    envelope: 'AQABAgMEBQYHCAkKC7EEr-2pWKiQamVZvLWCuzp66S8iBWTYdfG164K2',
  },
] as const

describe('deriveRoomKeys', () => {
  it.each(VECTORS)('matches the known-answer vector for $secret', async (vector) => {
    const keys = await deriveRoomKeys(vector.secret)
    expect(keys.formatVersion).toBe(1)
    expect(keys.relayToken).toBe(vector.relayToken)
    expect(keys.roomId).toBe(vector.roomId)
    expect(keys.webrtcPassword).toBe(vector.webrtcPassword)
    const plaintext = await openEnvelope(
      keys.contentKey,
      'message',
      'msg-1',
      fromBase64Url(vector.envelope),
    )
    expect(utf8.decode(plaintext)).toBe('hello, parley')
  })

  it('derives the room id from the relay token, as the relay checks it', async () => {
    for (const vector of VECTORS) {
      const keys = await deriveRoomKeys(vector.secret)
      expect(await roomIdFromRelayToken(keys.relayToken)).toBe(keys.roomId)
      expect(keys.relayToken).toHaveLength(43)
      expect(keys.webrtcPassword).toHaveLength(43)
      expect(isRoomId(keys.roomId)).toBe(true)
    }
  })

  it('is deterministic', async () => {
    const secret = newRoomSecret()
    const [a, b] = await Promise.all([deriveRoomKeys(secret), deriveRoomKeys(secret)])
    expect({ ...a, contentKey: null }).toEqual({ ...b, contentKey: null })
    const envelope = await sealEnvelope(a.contentKey, 'message', 'm', utf8.encode('same key'))
    expect(utf8.decode(await openEnvelope(b.contentKey, 'message', 'm', envelope))).toBe('same key')
  })

  it('gives different secrets different everything', async () => {
    const [a, b] = await Promise.all(VECTORS.map((vector) => deriveRoomKeys(vector.secret)))
    const values = [a, b].flatMap((keys) => [keys.roomId, keys.relayToken, keys.webrtcPassword])
    expect(new Set(values).size).toBe(6)
    const envelope = await sealEnvelope(a.contentKey, 'message', 'm', utf8.encode('for a'))
    await expect(openEnvelope(b.contentKey, 'message', 'm', envelope)).rejects.toMatchObject({
      reason: 'decrypt',
    })
  })

  it('makes a content key that is non-extractable AES-GCM-256 for encrypt and decrypt', async () => {
    const { contentKey } = await deriveRoomKeys(VECTORS[0].secret)
    expect(contentKey.extractable).toBe(false)
    expect(contentKey.type).toBe('secret')
    expect(contentKey.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 })
    expect([...contentKey.usages].sort()).toEqual(['decrypt', 'encrypt'])
    await expect(crypto.subtle.exportKey('raw', contentKey)).rejects.toThrow()
  })

  it.each([
    ['empty', ''],
    ['15 bytes', toBase64Url(new Uint8Array(15))],
    ['65 bytes', toBase64Url(new Uint8Array(65))],
    ['padded', 'AAECAwQFBgcICQoLDA0ODw=='],
    ['plain base64', 'AAECAwQFBgcICQoLDA0O+/'],
    ['whitespace', ' AAECAwQFBgcICQoLDA0ODw'],
    ['an impossible length', 'A'.repeat(25)],
    ['very long', 'A'.repeat(1_000_000)],
  ])('rejects a secret that is %s', async (_label, secret) => {
    expect(isRoomSecret(secret)).toBe(false)
    await expect(deriveRoomKeys(secret)).rejects.toThrow('invalid room secret')
  })
})

describe('room secrets', () => {
  it('makes 22-character secrets of 16 random bytes', () => {
    const secrets = Array.from({ length: 100 }, newRoomSecret)
    expect(ROOM_SECRET_BYTES).toBe(16)
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(fromBase64Url(secret)).toHaveLength(16)
      expect(isRoomSecret(secret)).toBe(true)
    }
    expect(new Set(secrets).size).toBe(secrets.length)
  })

  it('accepts 16 to 64 bytes', () => {
    expect(isRoomSecret(toBase64Url(new Uint8Array(15)))).toBe(false)
    for (let length = 16; length <= 64; length++) {
      expect(isRoomSecret(toBase64Url(new Uint8Array(length).fill(length)))).toBe(true)
    }
    expect(isRoomSecret(toBase64Url(new Uint8Array(65)))).toBe(false)
  })
})

describe('room ids', () => {
  it('hashes the relay token text (not its decoded bytes)', async () => {
    const token = VECTORS[0].relayToken
    expect(await roomIdFromRelayToken(token)).toBe(VECTORS[0].roomId)
    // One changed character is another room.
    const other = (token[0] === 'A' ? 'B' : 'A') + token.slice(1)
    expect(await roomIdFromRelayToken(other)).not.toBe(VECTORS[0].roomId)
  })

  it('accepts exactly 43 base64url characters', () => {
    expect(isRoomId(VECTORS[0].roomId)).toBe(true)
    expect(isRoomId('A'.repeat(43))).toBe(true)
    expect(isRoomId('-_'.repeat(21) + 'z')).toBe(true)
    for (const text of [
      '',
      'A'.repeat(42),
      'A'.repeat(44),
      'A'.repeat(42) + '=',
      'A'.repeat(42) + '+',
      'A'.repeat(42) + '/',
      'A'.repeat(42) + '\n',
      'A'.repeat(42) + 'é',
      '../' + 'A'.repeat(40),
      VECTORS[0].roomId + '\n',
    ]) {
      expect(isRoomId(text), JSON.stringify(text)).toBe(false)
    }
  })
})
