// Access to WebCrypto's SubtleCrypto, the only cryptography Parley uses (browser and Node 20).
// Browsers expose `crypto.subtle` only in secure contexts, so a page served over plain http
// from a LAN address would otherwise fail later with "cannot read properties of undefined".

export function subtle(): SubtleCrypto {
  // The DOM types promise both; an insecure page or an old runtime has neither.
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle
  if (subtle === undefined) {
    throw new Error('WebCrypto is unavailable: Parley needs a secure context (https or localhost)')
  }
  return subtle
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  // getRandomValues works in insecure contexts too, but keep one clear failure point.
  subtle()
  return globalThis.crypto.getRandomValues(new Uint8Array(length))
}

/**
 * WebCrypto's BufferSource type excludes views of SharedArrayBuffer, and callers hand us views
 * into larger buffers (Yjs, IndexedDB): a private copy satisfies the type and means later
 * writes by the caller cannot change bytes an async operation is still reading.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes)
}
