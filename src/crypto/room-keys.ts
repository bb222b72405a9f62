// The room link's secret and everything derived from it (docs/architecture.md): relay token, room id,
// WebRTC password and content key. The secret never leaves the URL fragment; each derived
// value goes only to the party named in the design table.

import { fromBase64Url, toBase64Url, utf8 } from './base64url'
import { randomBytes, subtle } from './webcrypto'

/** 128 random bits: a room link cannot be guessed, and the link stays short (22 chars). */
export const ROOM_SECRET_BYTES = 16
/** Accepts longer secrets (future links, hand-made ones) but bounds what a URL can make us hash. */
const MAX_ROOM_SECRET_BYTES = 64
const MAX_ROOM_SECRET_CHARS = Math.ceil((MAX_ROOM_SECRET_BYTES * 4) / 3)

/** Fixed HKDF salt: the secret is already uniformly random, the salt only separates Parley's use. */
const HKDF_SALT = utf8.encode('parley')
// Versioned labels: a future derivation (v2) yields unrelated keys instead of colliding.
const INFO_RELAY_TOKEN = utf8.encode('parley/v1/relay-token')
const INFO_WEBRTC_PASSWORD = utf8.encode('parley/v1/webrtc-password')
const INFO_CONTENT_KEY = utf8.encode('parley/v1/content-key')
const DERIVED_SECRET_BITS = 256

/** 43 base64url characters: SHA-256 (32 bytes) without padding. The relay checks the same. */
const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

export interface RoomKeys {
  readonly formatVersion: 1
  /** base64url(SHA-256(relay token text)): names the signaling room, relay path and local DB. */
  readonly roomId: string
  /** Sent to the relay only, as `?token=`; the relay checks it hashes to the room id. */
  readonly relayToken: string
  /** y-webrtc's `password` option. Never sent anywhere. */
  readonly webrtcPassword: string
  /** AES-GCM-256, non-extractable, for every envelope in the room. */
  readonly contentKey: CryptoKey
}

export function newRoomSecret(): string {
  return toBase64Url(randomBytes(ROOM_SECRET_BYTES))
}

export function isRoomSecret(text: string): boolean {
  return decodeRoomSecret(text) !== undefined
}

export async function deriveRoomKeys(secret: string): Promise<RoomKeys> {
  const secretBytes = decodeRoomSecret(secret)
  if (secretBytes === undefined) throw new Error('invalid room secret')
  const hkdfKey = await subtle().importKey('raw', secretBytes, 'HKDF', false, [
    'deriveBits',
    'deriveKey',
  ])
  const hkdf = (info: Uint8Array<ArrayBuffer>): HkdfParams => ({
    name: 'HKDF',
    hash: 'SHA-256',
    salt: HKDF_SALT,
    info,
  })
  const [relayTokenBits, webrtcPasswordBits, contentKey] = await Promise.all([
    subtle().deriveBits(hkdf(INFO_RELAY_TOKEN), hkdfKey, DERIVED_SECRET_BITS),
    subtle().deriveBits(hkdf(INFO_WEBRTC_PASSWORD), hkdfKey, DERIVED_SECRET_BITS),
    // Non-extractable: script injected into the page can use the key while it runs, but
    // cannot copy it out.
    subtle().deriveKey(hkdf(INFO_CONTENT_KEY), hkdfKey, { name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]),
  ])
  const relayToken = toBase64Url(new Uint8Array(relayTokenBits))
  return Object.freeze({
    formatVersion: 1,
    roomId: await roomIdFromRelayToken(relayToken),
    relayToken,
    webrtcPassword: toBase64Url(new Uint8Array(webrtcPasswordBits)),
    contentKey,
  })
}

/**
 * Hashes the token's text, not its decoded bytes, so the relay needs no base64 decoding and
 * no stored state to check `sha256(token) == room id`. Any string is accepted (a bogus token
 * simply hashes to no room); the relay should bound the query's length before calling this.
 */
export async function roomIdFromRelayToken(relayToken: string): Promise<string> {
  // A valid token is ASCII, where UTF-8 and ASCII are the same bytes.
  const digest = await subtle().digest('SHA-256', utf8.encode(relayToken))
  return toBase64Url(new Uint8Array(digest))
}

export function isRoomId(text: string): boolean {
  return ROOM_ID_PATTERN.test(text)
}

function decodeRoomSecret(text: string): Uint8Array<ArrayBuffer> | undefined {
  // Length first: a hostile link must not make us decode megabytes.
  if (text.length > MAX_ROOM_SECRET_CHARS) return undefined
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = fromBase64Url(text)
  } catch {
    return undefined
  }
  if (bytes.length < ROOM_SECRET_BYTES || bytes.length > MAX_ROOM_SECRET_BYTES) return undefined
  return bytes
}
