// Signing identities: sign/verify round trips, forgeries and malformed input verify false
// without throwing, key ids, non-extractability, and rebuilding an identity from stored keys.

import { beforeAll, describe, expect, it } from 'vitest'
import {
  KEY_ID_BYTES,
  bytesEqual,
  generateSigningIdentity,
  identityFromKeys,
  keyIdOf,
  sign,
  utf8,
  verify,
  type SigningIdentity,
} from '../../src/crypto'

let alice: SigningIdentity
let bob: SigningIdentity
const data = utf8.encode('v1|room|msg-1|sort-key|author|envelope')

beforeAll(async () => {
  ;[alice, bob] = await Promise.all([generateSigningIdentity(), generateSigningIdentity()])
})

describe('signing identities', () => {
  it('signs with 64 bytes that verify under its own public key', async () => {
    expect(alice.publicKey).toHaveLength(32)
    const signature = await sign(alice, data)
    expect(signature).toHaveLength(64)
    expect(await verify(alice.publicKey, signature, data)).toBe(true)
    // Verifying again hits the imported-key cache and must agree.
    expect(await verify(alice.publicKey, signature, data)).toBe(true)
  })

  it('verifies many signatures from one author concurrently', async () => {
    const messages = Array.from({ length: 50 }, (_, i) => utf8.encode(`message ${i}`))
    const signatures = await Promise.all(messages.map((m) => sign(bob, m)))
    const results = await Promise.all(
      messages.map((m, i) => verify(bob.publicKey, signatures[i], m)),
    )
    expect(results.every(Boolean)).toBe(true)
  })

  it('signs and verifies empty data and views into larger buffers', async () => {
    expect(
      await verify(alice.publicKey, await sign(alice, new Uint8Array(0)), new Uint8Array(0)),
    ).toBe(true)
    const buffer = new Uint8Array(100).fill(7)
    const view = buffer.subarray(10, 40)
    const signature = await sign(alice, view)
    expect(await verify(alice.publicKey, signature, view.slice())).toBe(true)
  })

  describe('rejects forgeries', () => {
    let signature: Uint8Array
    beforeAll(async () => {
      signature = await sign(alice, data)
    })

    it('with a flipped bit anywhere in the signature', async () => {
      for (const index of [0, 31, 32, 63]) {
        const forged = signature.slice()
        forged[index] ^= 0x01
        expect(await verify(alice.publicKey, forged, data), `byte ${index}`).toBe(false)
      }
    })

    it('signed by another key', async () => {
      expect(await verify(alice.publicKey, await sign(bob, data), data)).toBe(false)
      expect(await verify(bob.publicKey, signature, data)).toBe(false)
    })

    it('over other data', async () => {
      const other = data.slice()
      other[0] ^= 0x01
      expect(await verify(alice.publicKey, signature, other)).toBe(false)
      expect(await verify(alice.publicKey, signature, data.subarray(1))).toBe(false)
    })
  })

  it('returns false, never throws, for malformed keys and signatures', async () => {
    const signature = await sign(alice, data)
    const cases: Array<[string, Uint8Array, Uint8Array]> = [
      ['empty key', new Uint8Array(0), signature],
      ['31-byte key', alice.publicKey.slice(0, 31), signature],
      ['33-byte key', new Uint8Array([...alice.publicKey, 0]), signature],
      ['all-zero key', new Uint8Array(32), signature],
      ['all-ones key', new Uint8Array(32).fill(0xff), signature],
      ['empty signature', alice.publicKey, new Uint8Array(0)],
      ['63-byte signature', alice.publicKey, signature.slice(0, 63)],
      ['65-byte signature', alice.publicKey, new Uint8Array([...signature, 0])],
      ['all-zero signature', alice.publicKey, new Uint8Array(64)],
      ['all-ones signature', alice.publicKey, new Uint8Array(64).fill(0xff)],
    ]
    for (const [label, publicKey, sig] of cases) {
      await expect(verify(publicKey, sig, data), label).resolves.toBe(false)
    }
  })

  it('has a stable 16-byte key id: the start of SHA-256 of the public key', async () => {
    expect(KEY_ID_BYTES).toBe(16)
    expect(alice.keyId).toHaveLength(16)
    expect(await keyIdOf(alice.publicKey)).toEqual(alice.keyId)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', alice.publicKey.slice()))
    expect(alice.keyId).toEqual(digest.slice(0, 16))
    expect(bytesEqual(alice.keyId, bob.keyId)).toBe(false)
    // Known answer: SHA-256 of 32 zero bytes starts 66687aadf862bd776c8fc18b8e9f8e20.
    expect(Buffer.from(await keyIdOf(new Uint8Array(32))).toString('hex')).toBe(
      '66687aadf862bd776c8fc18b8e9f8e20',
    )
  })

  it('keeps the private key non-extractable', async () => {
    expect(alice.privateKey.extractable).toBe(false)
    expect(alice.privateKey.type).toBe('private')
    expect(alice.privateKey.algorithm.name).toBe('Ed25519')
    await expect(crypto.subtle.exportKey('pkcs8', alice.privateKey)).rejects.toThrow()
    await expect(crypto.subtle.exportKey('jwk', alice.privateKey)).rejects.toThrow()
  })

  it('rebuilds an identity from stored keys that signs verifiably', async () => {
    const rebuilt = await identityFromKeys(alice.privateKey, alice.publicKey.slice())
    expect(rebuilt.keyId).toEqual(alice.keyId)
    expect(rebuilt.publicKey).toEqual(alice.publicKey)
    expect(await verify(alice.publicKey, await sign(rebuilt, data), data)).toBe(true)
    expect(await verify(rebuilt.publicKey, await sign(alice, data), data)).toBe(true)
  })

  it('refuses to rebuild from keys that do not belong together', async () => {
    await expect(identityFromKeys(alice.privateKey, bob.publicKey)).rejects.toThrow(
      'does not match',
    )
    await expect(identityFromKeys(alice.privateKey, alice.publicKey.slice(0, 31))).rejects.toThrow()
    const extractable = await crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify'])
    const extractablePublic = new Uint8Array(
      await crypto.subtle.exportKey('raw', extractable.publicKey),
    )
    await expect(identityFromKeys(extractable.privateKey, extractablePublic)).rejects.toThrow(
      'non-extractable',
    )
    const aes = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
    ])
    await expect(identityFromKeys(aes, alice.publicKey)).rejects.toThrow('Ed25519')
  })
})

describe('bytesEqual', () => {
  it('compares length and contents', () => {
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true)
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false)
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false)
    expect(bytesEqual(new Uint8Array([0]), new Uint8Array([]))).toBe(false)
    const buffer = new Uint8Array([9, 1, 2, 9])
    expect(bytesEqual(buffer.subarray(1, 3), new Uint8Array([1, 2]))).toBe(true)
  })
})
