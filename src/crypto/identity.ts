// A signing identity (this browser has one per room: docs/presence.md, "A key per room"):
// generating it, rebuilding it from IndexedDB, its key id, and signing and verifying. The private
// key is non-extractable, so script in the page can sign while it runs but cannot steal it.

import { KEY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../lib/ed25519-sizes'
import { toBase64Url } from './base64url'
import { ownBytes, subtle } from './webcrypto'

export { KEY_ID_BYTES }
const ED25519 = 'Ed25519'

export interface SigningIdentity {
  readonly keyId: Uint8Array
  /** 32 raw bytes, as stored in the members map. */
  readonly publicKey: Uint8Array
  /** Non-extractable; IndexedDB can store it as a CryptoKey by structured clone. */
  readonly privateKey: CryptoKey
}

export async function generateSigningIdentity(): Promise<SigningIdentity> {
  // extractable = false applies to the private key; public keys are always exportable.
  const pair = await subtle().generateKey(ED25519, false, ['sign', 'verify'])
  const publicKey = new Uint8Array(await subtle().exportKey('raw', pair.publicKey))
  return Object.freeze({ keyId: await keyIdOf(publicKey), publicKey, privateKey: pair.privateKey })
}

/**
 * Rebuilds an identity from what IndexedDB kept. Rejects keys that are not a non-extractable
 * Ed25519 signing key matching `publicKey`: a mismatched pair (corrupt storage, a mix-up
 * between rooms) would otherwise sign messages that no peer can ever verify.
 */
export async function identityFromKeys(
  privateKey: CryptoKey,
  publicKey: Uint8Array,
): Promise<SigningIdentity> {
  if (privateKey.type !== 'private' || privateKey.algorithm.name !== ED25519) {
    throw new Error('identity private key is not an Ed25519 private key')
  }
  if (privateKey.extractable) throw new Error('identity private key must be non-extractable')
  if (!privateKey.usages.includes('sign')) throw new Error('identity private key cannot sign')
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new Error(`identity public key must be ${PUBLIC_KEY_BYTES} bytes`)
  }
  const ownPublicKey = ownBytes(publicKey)
  const probe = new Uint8Array([0x70, 0x61, 0x72, 0x6c, 0x65, 0x79]) // 'parley'
  const probeSignature = new Uint8Array(await subtle().sign(ED25519, privateKey, probe))
  if (!(await verify(ownPublicKey, probeSignature, probe))) {
    throw new Error('identity public key does not match its private key')
  }
  return Object.freeze({ keyId: await keyIdOf(ownPublicKey), publicKey: ownPublicKey, privateKey })
}

/**
 * First 16 bytes of SHA-256 of the raw public key. Total on any input, so parsing a remote
 * members entry can compare ids before deciding the key itself is malformed.
 */
export async function keyIdOf(publicKey: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const digest = await subtle().digest('SHA-256', ownBytes(publicKey))
  return new Uint8Array(digest, 0, KEY_ID_BYTES).slice()
}

export async function sign(
  identity: SigningIdentity,
  data: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().sign(ED25519, identity.privateKey, ownBytes(data)))
}

/** False, never a throw, for anything that is not a valid signature by this key over data. */
export async function verify(
  publicKey: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
  try {
    const key = await importVerifyKey(publicKey)
    return await subtle().verify(ED25519, key, ownBytes(signature), ownBytes(data))
  } catch {
    // Import rejects some malformed points; a peer's bad key is "unverifiable", not a crash.
    return false
  }
}

/** Constant time in the contents (not the lengths): cheap, and callers need not think about it. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/**
 * Imported verification keys, least recently used first. A room verifies every message of a
 * few authors on load, and importKey costs more than verify itself. 256 keys covers the
 * members of several busy rooms and bounds what a room full of fake members can pin in memory.
 * Promises are cached so concurrent verifications by one author share a single import.
 */
const VERIFY_KEY_CACHE_SIZE = 256
const verifyKeyCache = new Map<string, Promise<CryptoKey>>()

function importVerifyKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const cacheKey = toBase64Url(publicKey)
  const cached = verifyKeyCache.get(cacheKey)
  if (cached !== undefined) {
    verifyKeyCache.delete(cacheKey)
    verifyKeyCache.set(cacheKey, cached)
    return cached
  }
  const imported = subtle().importKey('raw', ownBytes(publicKey), ED25519, true, ['verify'])
  verifyKeyCache.set(cacheKey, imported)
  // A key that fails to import is not kept: the caller returns false, and the next try is fresh.
  imported.catch(() => {
    if (verifyKeyCache.get(cacheKey) === imported) verifyKeyCache.delete(cacheKey)
  })
  if (verifyKeyCache.size > VERIFY_KEY_CACHE_SIZE) {
    const oldest = verifyKeyCache.keys().next().value
    if (oldest !== undefined) verifyKeyCache.delete(oldest)
  }
  return imported
}
