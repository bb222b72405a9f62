// The room's member directory: verified public keys and decrypted display names, keyed by
// author key id. A member entry counts only if its key id is the hash of its public key and it
// is signed by that key, so nobody can claim another person's key id. Entries are read through
// RoomDocument's checked accessors (docs/document-model.md).
import type * as Y from 'yjs'
import { memberSigningBytes, type RoomDocument } from '../model'
import { parseMemberPayload } from '../model/payload'
import { bytesEqual, keyIdOf, openEnvelope, toBase64Url, verify, type RoomKeys } from '../crypto'
import { Listeners } from '../lib/listeners'

export interface Member {
  readonly keyId: string
  readonly publicKey: Uint8Array
  /** null when the name cannot be decrypted with this room's key. */
  readonly name: string | null
}

export class MemberDirectory {
  readonly changed = new Listeners()
  private readonly members = new Map<string, Member>()
  private readonly pending = new Map<string, Promise<void>>()
  private readonly observer: (event: Y.YMapEvent<unknown>) => void

  constructor(
    private room: RoomDocument,
    private readonly keys: RoomKeys,
  ) {
    this.observer = (event) => event.keysChanged.forEach((keyId: string) => this.load(keyId))
    room.maps.members.observe(this.observer)
    for (const keyId of room.idsOf('members')) this.load(keyId)
  }

  get(keyId: string): Member | undefined {
    return this.members.get(keyId)
  }

  /** The verified public key of an author, once any pending verification has finished. */
  async publicKeyOf(keyId: string): Promise<Uint8Array | undefined> {
    await this.pending.get(keyId)
    return this.members.get(keyId)?.publicKey
  }

  /** Reads another document from now on (the room once loaded, in place of its newest
   * messages: recent-records.ts); a member verified before stays the same object. */
  rebase(next: RoomDocument): void {
    this.room.maps.members.unobserve(this.observer)
    this.room = next
    next.maps.members.observe(this.observer)
    for (const keyId of [...this.members.keys()])
      if (!next.maps.members.has(keyId)) this.members.delete(keyId)
    for (const keyId of next.idsOf('members')) this.load(keyId)
    this.changed.emit()
  }

  all(): Member[] {
    return [...this.members.values()]
  }

  destroy(): void {
    this.room.maps.members.unobserve(this.observer)
    this.changed.clear()
  }

  private load(keyId: string): void {
    // A verification that fails for any reason (a key WebCrypto refuses) counts as no member.
    const verified = this.verify(keyId).catch(() => undefined)
    const work = verified.then((member) => {
      if (this.pending.get(keyId) !== work) return
      this.pending.delete(keyId)
      if (member) this.members.set(keyId, member)
      else this.members.delete(keyId)
      this.changed.emit()
    })
    this.pending.set(keyId, work)
  }

  private async verify(keyId: string): Promise<Member | undefined> {
    const parsed = this.room.member(keyId)
    if (!parsed?.ok) return undefined
    const record = parsed.value
    const expectedId = await keyIdOf(record.publicKey)
    if (toBase64Url(expectedId) !== keyId) return undefined
    const signed = memberSigningBytes(this.keys.roomId, keyId, record)
    if (!(await verify(record.publicKey, record.signature, signed))) return undefined
    let name: string | null = null
    try {
      const plain = await openEnvelope(this.keys.contentKey, 'member', keyId, record.envelope)
      name = parseMemberPayload(plain).name
    } catch {
      name = null // shown as "cannot decrypt"; the key itself is still valid for verification
    }
    const existing = this.members.get(keyId)
    if (existing && bytesEqual(existing.publicKey, record.publicKey) && existing.name === name)
      return existing
    return { keyId, publicKey: record.publicKey, name }
  }
}
