// Text encodings for bytes: unpadded base64url (RFC 4648 §5) for secrets, tokens, ids and keys
// in URLs and map keys, and strict UTF-8. Hand-written because browsers lack Buffer and
// Node 20 lacks Uint8Array.prototype.toBase64.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Char code → 6-bit value, or -1 for anything outside the base64url alphabet. */
const DECODE = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

export function toBase64Url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2]
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63]
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i] << 16
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63]
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8)
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63]
  }
  return out
}

/**
 * Decodes unpadded base64url. Padding, whitespace and the `+` `/` of plain base64 are
 * rejected, as is a length of 4n+1 chars (no byte count encodes to that). Unused low bits in
 * the last char are ignored, as most decoders do: so two texts can decode to the same bytes,
 * and anything that compares texts (the relay's token check) must hash or compare the text
 * itself, never re-encoded bytes.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (text.length % 4 === 1) throw new Error('invalid base64url')
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let bitCount = 0
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const value = code < 128 ? DECODE[code] : -1
    if (value < 0) throw new Error('invalid base64url')
    bits = ((bits << 6) | value) & 0xffffff
    bitCount += 6
    if (bitCount >= 8) {
      bitCount -= 8
      out[o++] = (bits >> bitCount) & 0xff
    }
  }
  return out
}

// fatal: remote bytes that are not UTF-8 must fail loudly instead of becoming U+FFFD.
// ignoreBOM: keep a leading U+FEFF, so decode(encode(s)) === s for every well-formed string.
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export const utf8: {
  /** Lone surrogates become U+FFFD, as TextEncoder always does. */
  encode(s: string): Uint8Array<ArrayBuffer>
  /** Throws a TypeError on invalid UTF-8. */
  decode(b: Uint8Array): string
} = {
  encode: (s) => encoder.encode(s),
  decode: (b) => decoder.decode(b),
}
