// Versioned AES-GCM envelopes for everything a person writes (docs/architecture.md). Each envelope is
// bound, through associated data, to its purpose and to what it belongs to (a message id, a
// member key id), so a ciphertext copied onto another record or into another field won't open.
//
// Layout, version 1:  [version = 1 : 1 byte][nonce : 12 bytes][ciphertext ‖ GCM tag : 16 bytes]
// Associated data:    UTF-8 of `parley/v1/<purpose>/<boundTo>`. No purpose contains '/', so the
//                     purpose/boundTo split is unambiguous whatever boundTo holds.

import { utf8 } from './base64url'
import { ownBytes, randomBytes, subtle } from './webcrypto'

export type EnvelopePurpose = 'message' | 'edit' | 'member' | 'presence'

export const ENVELOPE_VERSION = 1

/**
 * A random 96-bit nonce per envelope: one key per room, written by many browsers with no
 * shared counter. Collision risk stays below 2^-32 up to 2^32 envelopes per room.
 */
const NONCE_BYTES = 12
const TAG_BYTES = 16
const HEADER_BYTES = 1 + NONCE_BYTES
const MIN_ENVELOPE_BYTES = HEADER_BYTES + TAG_BYTES

export type EnvelopeErrorReason = 'version' | 'truncated' | 'decrypt'

/**
 * Why an envelope did not open. 'decrypt' covers a wrong key, tampering, a move to another
 * record or purpose, and a cut that leaves at least the fixed overhead: AES-GCM cannot tell
 * these apart, and the UI shows all of them as "cannot decrypt".
 */
export class EnvelopeError extends Error {
  readonly reason: EnvelopeErrorReason

  constructor(reason: EnvelopeErrorReason, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'EnvelopeError'
    this.reason = reason
  }
}

export async function sealEnvelope(
  key: CryptoKey,
  purpose: EnvelopePurpose,
  boundTo: string,
  plaintext: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const nonce = randomBytes(NONCE_BYTES)
  const sealed = await subtle().encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: associatedData(purpose, boundTo) },
    key,
    ownBytes(plaintext),
  )
  const envelope = new Uint8Array(HEADER_BYTES + sealed.byteLength)
  envelope[0] = ENVELOPE_VERSION
  envelope.set(nonce, 1)
  envelope.set(new Uint8Array(sealed), HEADER_BYTES)
  return envelope
}

/** Throws only EnvelopeError: callers show "cannot decrypt" for one record and carry on. */
export async function openEnvelope(
  key: CryptoKey,
  purpose: EnvelopePurpose,
  boundTo: string,
  envelope: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  if (envelope.length < 1) throw new EnvelopeError('truncated', 'envelope is empty')
  // The version decides the layout, so it is checked before any length.
  if (envelope[0] !== ENVELOPE_VERSION) {
    throw new EnvelopeError('version', `unknown envelope version ${envelope[0]}`)
  }
  if (envelope.length < MIN_ENVELOPE_BYTES) {
    throw new EnvelopeError(
      'truncated',
      `envelope has ${envelope.length} bytes, fewer than the ${MIN_ENVELOPE_BYTES} of its header and tag`,
    )
  }
  try {
    const plaintext = await subtle().decrypt(
      {
        name: 'AES-GCM',
        iv: envelope.slice(1, HEADER_BYTES),
        additionalData: associatedData(purpose, boundTo),
      },
      key,
      envelope.slice(HEADER_BYTES),
    )
    return new Uint8Array(plaintext)
  } catch (error) {
    // WebCrypto's OperationError says nothing more; keep it as the cause for debugging.
    throw new EnvelopeError('decrypt', 'envelope does not open with this key and binding', {
      cause: error,
    })
  }
}

function associatedData(purpose: EnvelopePurpose, boundTo: string): Uint8Array<ArrayBuffer> {
  return utf8.encode(`parley/v1/${purpose}/${boundTo}`)
}
