// base64url and UTF-8 helpers of src/crypto: round trips, agreement with Node's own encoder
// (an independent implementation), and rejection of everything that is not unpadded base64url.

import { describe, expect, it } from 'vitest'
import { fromBase64Url, toBase64Url, utf8 } from '../../src/crypto'

function patternedBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (i * 151 + seed * 37 + 11) & 0xff
  return bytes
}

describe('base64url', () => {
  it('round-trips every length from 0 to 64 and matches Node', () => {
    for (let length = 0; length <= 64; length++) {
      for (const bytes of [
        patternedBytes(length, length),
        new Uint8Array(length),
        new Uint8Array(length).fill(0xff),
        crypto.getRandomValues(new Uint8Array(length)),
      ]) {
        const text = toBase64Url(bytes)
        expect(text).toBe(Buffer.from(bytes).toString('base64url'))
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/)
        expect(text.length).toBe(Math.ceil((length * 4) / 3))
        expect(fromBase64Url(text)).toEqual(bytes)
      }
    }
  })

  it('encodes a view by its own bytes, not its whole buffer', () => {
    const buffer = patternedBytes(32, 1)
    const view = buffer.subarray(5, 12)
    expect(fromBase64Url(toBase64Url(view))).toEqual(view.slice())
  })

  it('uses the URL-safe alphabet', () => {
    expect(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_')
    expect(fromBase64Url('-_-_')).toEqual(new Uint8Array([0xfb, 0xff, 0xbf]))
  })

  it.each([
    ['padding', 'AA=='],
    ['single padding', 'AAA='],
    ['plain base64 +', 'ab+c'],
    ['plain base64 /', 'ab/c'],
    ['a space', 'AB CD'],
    ['a newline', 'ABCD\n'],
    ['a dot', 'AB.C'],
    ['non-ASCII', 'ABCé'],
    ['a fullwidth letter', 'ABCＡ'],
    ['an impossible length (4n+1)', 'A'],
    ['an impossible length (4n+1), longer', 'ABCDE'],
  ])('rejects %s', (_label, text) => {
    expect(() => fromBase64Url(text)).toThrow('invalid base64url')
  })

  it('decodes the empty string to no bytes', () => {
    expect(fromBase64Url('')).toEqual(new Uint8Array(0))
  })
})

describe('utf8', () => {
  it('round-trips text, including a leading byte-order mark and astral characters', () => {
    for (const text of [
      '',
      'hello',
      'héllo wörld',
      '日本語',
      '👋🏽 family: 👨‍👩‍👧',
      '\uFEFFbom',
      '\0nul',
    ]) {
      expect(utf8.decode(utf8.encode(text))).toBe(text)
      expect(utf8.encode(text)).toEqual(new Uint8Array(Buffer.from(text, 'utf8')))
    }
  })

  it('fails on invalid UTF-8 instead of substituting U+FFFD', () => {
    for (const bytes of [[0xff], [0xc3], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x61, 0x80]]) {
      expect(() => utf8.decode(new Uint8Array(bytes))).toThrow(TypeError)
    }
  })
})
