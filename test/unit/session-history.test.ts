// History cannot be rewritten (issue 11 §2, docs/threat-model.md): each defect found in the
// v1 design, reproduced with real WebCrypto keys against the document, the timeline, the
// resolver and the history ledger, across a reload where the defect was about one.
import { beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { encodeTombstone, RoomDocument } from '../../src/model'
import {
  deriveRoomKeys,
  generateSigningIdentity,
  newRoomSecret,
  toBase64Url,
  type RoomKeys,
  type SigningIdentity,
} from '../../src/crypto'
import { MemberDirectory } from '../../src/session/members'
import { MessageContentResolver } from '../../src/session/message-content'
import { Timeline } from '../../src/session/timeline'
import { HistoryLedger } from '../../src/session/history-ledger'
import { HistoryKeeper } from '../../src/session/history-keeper'
import {
  composeMember,
  composeMessage,
  composeRevisionOf,
  composeTombstone,
  newMessageId,
} from '../../src/session/authoring'
import { composeLegacyMessage } from '../support/legacy-records'
import { MemoryStorage } from '../support/memory-storage'

let keys: RoomKeys
let alice: SigningIdentity
let mallory: SigningIdentity
let tick = 1_000
const stamp = () => ({ wall: ++tick, counter: 0 })

/** One browser's view of a room: what RoomSession composes, without the network. */
class Browser {
  readonly room: RoomDocument
  readonly members: MemberDirectory
  readonly timeline: Timeline
  readonly ledger: HistoryLedger
  readonly resolver: MessageContentResolver

  constructor(
    readonly storage: Storage,
    doc = new Y.Doc(),
  ) {
    this.room = new RoomDocument(doc)
    this.members = new MemberDirectory(this.room, keys)
    this.ledger = new HistoryLedger(keys.roomId, storage)
    this.timeline = new Timeline(this.room)
    this.timeline.attachLedger(this.ledger, this.room)
    this.resolver = new MessageContentResolver(keys, this.members, this.ledger)
    this.members.changed.subscribe(() => this.resolver.membersChanged())
  }

  /** The page again: the document as stored, the ledger as kept. */
  reload(): Browser {
    this.ledger.flush()
    const doc = new Y.Doc()
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(this.room.doc))
    return new Browser(this.storage, doc)
  }

  async show(id: string) {
    for (const member of [alice, mallory]) await this.members.publicKeyOf(toBase64Url(member.keyId))
    const entry = this.timeline.get(id)
    return entry ? this.resolver.resolve(entry) : undefined
  }
}

let browser: Browser

async function join(room: RoomDocument, identity: SigningIdentity, name: string) {
  room.setMember(toBase64Url(identity.keyId), await composeMember(keys, identity, stamp(), name))
}

async function post(room: RoomDocument, author: SigningIdentity, text: string) {
  const id = newMessageId()
  room.insertMessage(id, await composeMessage(keys, author, id, stamp(), text, false))
  return id
}

function recordOf(room: RoomDocument, id: string) {
  const parsed = room.message(id)
  if (!parsed?.ok) throw new Error('no record')
  return parsed.value
}

const vandalize = (room: RoomDocument, change: () => void) => room.doc.transact(change)

beforeEach(async () => {
  keys = await deriveRoomKeys(newRoomSecret())
  alice = await generateSigningIdentity()
  mallory = await generateSigningIdentity()
  browser = new Browser(new MemoryStorage())
  await join(browser.room, alice, 'Alice')
  await join(browser.room, mallory, 'Mallory')
})

describe('a message entry deleted by a token holder', () => {
  it('shows as an anomaly, and still after a reload', async () => {
    const id = await post(browser.room, alice, 'on the record')
    expect(await browser.show(id)).toMatchObject({ kind: 'message', text: 'on the record' })
    vandalize(browser.room, () => browser.room.maps.messages.delete(id))
    expect(await browser.show(id)).toMatchObject({
      kind: 'anomaly',
      reason: /without a valid delete/,
    })
    const reloaded = browser.reload()
    expect(reloaded.room.maps.messages.has(id)).toBe(false)
    expect(await reloaded.show(id)).toMatchObject({
      kind: 'anomaly',
      reason: /without a valid delete/,
    })
  })
})

describe("a vandal's own tombstone in place of someone's message", () => {
  it('is an anomaly where the message was seen, also after a reload', async () => {
    const id = await post(browser.room, alice, 'mine')
    await browser.show(id)
    const record = recordOf(browser.room, id)
    const forged = await composeTombstone(keys, mallory, id, record)
    browser.room.deleteMessage(id, forged)
    expect(await browser.show(id)).toMatchObject({
      kind: 'anomaly',
      reason: /other than its author/,
    })
    const reloaded = browser.reload()
    expect(await reloaded.show(id)).toMatchObject({
      kind: 'anomaly',
      reason: /other than its author/,
    })
  })

  it("is never shown as the author's delete where the message was not seen", async () => {
    const id = await post(browser.room, alice, 'mine')
    const forged = await composeTombstone(keys, mallory, id, recordOf(browser.room, id))
    browser.room.deleteMessage(id, forged)
    const newcomer = new Browser(new MemoryStorage())
    Y.applyUpdate(newcomer.room.doc, Y.encodeStateAsUpdate(browser.room.doc))
    const shown = await newcomer.show(id)
    // All it can prove is that Mallory deleted a message of hers: it sorts under her key.
    const entry = newcomer.timeline.get(id)!
    expect(entry.key.author).toBe(toBase64Url(mallory.keyId))
    expect(shown).toEqual({ kind: 'deleted' })
  })

  it('cannot claim the author: a tombstone with her key id and another key is refused', async () => {
    const id = await post(browser.room, alice, 'mine')
    const forged = await composeTombstone(keys, mallory, id, recordOf(browser.room, id))
    const newcomer = new Browser(new MemoryStorage())
    newcomer.room.maps.tombstones.set(id, encodeTombstone({ ...forged, author: alice.keyId }))
    expect(await newcomer.show(id)).toMatchObject({ kind: 'anomaly' })
  })
})

describe("an author's member entry deleted", () => {
  it('leaves their messages verified and their edits shown', async () => {
    const id = await post(browser.room, alice, 'helo')
    const edit = await composeRevisionOf(
      keys,
      alice,
      id,
      recordOf(browser.room, id),
      stamp(),
      'hello',
    )
    browser.room.rewriteMessage(id, edit)
    vandalize(browser.room, () => browser.room.maps.members.delete(toBase64Url(alice.keyId)))
    const reloaded = browser.reload()
    expect(reloaded.members.get(toBase64Url(alice.keyId))).toBeUndefined()
    expect(await reloaded.show(id)).toMatchObject({
      text: 'hello',
      edited: true,
      authenticity: 'verified',
    })
  })

  it('leaves v1 messages verified by the key pinned when they were first shown', async () => {
    const id = newMessageId()
    browser.room.insertMessage(id, await composeLegacyMessage(keys, alice, id, stamp(), 'old'))
    expect(await browser.show(id)).toMatchObject({ authenticity: 'verified', legacy: true })
    vandalize(browser.room, () => browser.room.maps.members.delete(toBase64Url(alice.keyId)))
    const reloaded = browser.reload()
    expect(await reloaded.show(id)).toMatchObject({ authenticity: 'verified', text: 'old' })
  })

  it('is put back by its owner', async () => {
    const keyId = toBase64Url(alice.keyId)
    let republished = 0
    const keeper = new HistoryKeeper(keys.roomId, browser.room, browser.ledger, keyId, async () => {
      republished++
      await join(browser.room, alice, 'Alice')
    })
    vandalize(browser.room, () => browser.room.maps.members.delete(keyId))
    await new Promise((resolve) => setTimeout(resolve, 20))
    keeper.close()
    expect(republished).toBe(1)
    expect(browser.room.member(keyId)?.ok).toBe(true)
  })
})

describe('a deleted message resurrected', () => {
  it('shows as an anomaly when its tombstone is removed and its bytes re-inserted', async () => {
    const id = await post(browser.room, alice, 'regret')
    const bytes = browser.room.maps.messages.get(id) as Uint8Array
    const record = recordOf(browser.room, id)
    browser.room.deleteMessage(id, await composeTombstone(keys, alice, id, record))
    expect(await browser.show(id)).toEqual({ kind: 'deleted' })
    const reloaded = browser.reload()
    vandalize(reloaded.room, () => {
      reloaded.room.maps.tombstones.delete(id)
      reloaded.room.maps.messages.set(id, bytes)
    })
    expect(await reloaded.show(id)).toMatchObject({ kind: 'anomaly', reason: /came back/ })
  })

  it('stays deleted when only its tombstone is removed, and the tombstone is put back', async () => {
    const id = await post(browser.room, alice, 'regret')
    const record = recordOf(browser.room, id)
    browser.room.deleteMessage(id, await composeTombstone(keys, alice, id, record))
    await browser.show(id)
    const keeper = new HistoryKeeper(
      keys.roomId,
      browser.room,
      browser.ledger,
      'x'.repeat(22),
      async () => {},
    )
    vandalize(browser.room, () => browser.room.maps.tombstones.delete(id))
    expect(await browser.show(id)).toEqual({ kind: 'deleted' })
    await new Promise((resolve) => setTimeout(resolve, 20))
    keeper.close()
    expect(browser.room.tombstone(id)?.ok).toBe(true)
  })
})

describe('an edit', () => {
  it('leaves nothing of the original text in the document', async () => {
    const id = await post(browser.room, alice, 'the first draft')
    const original = recordOf(browser.room, id)
    const edit = await composeRevisionOf(keys, alice, id, original, stamp(), 'the final text')
    browser.room.rewriteMessage(id, edit)
    const stored = Y.encodeStateAsUpdate(browser.room.doc)
    expect(indexOf(stored, original.envelope)).toBe(-1)
    expect(indexOf(stored, edit.envelope)).toBeGreaterThan(-1)
    expect(await browser.show(id)).toMatchObject({ text: 'the final text', edited: true })
  })

  it('replayed older shows as an anomaly where the newer was seen', async () => {
    const id = await post(browser.room, alice, 'v0')
    const v0 = browser.room.maps.messages.get(id) as Uint8Array
    const edit = await composeRevisionOf(keys, alice, id, recordOf(browser.room, id), stamp(), 'v1')
    browser.room.rewriteMessage(id, edit)
    expect(await browser.show(id)).toMatchObject({ text: 'v1' })
    const reloaded = browser.reload()
    vandalize(reloaded.room, () => reloaded.room.maps.messages.set(id, v0))
    expect(await reloaded.show(id)).toMatchObject({ kind: 'anomaly', reason: /older version/ })
  })

  it("by someone else, in the author's entry, shows as an anomaly where it was seen", async () => {
    const id = await post(browser.room, alice, 'I owe Mallory nothing')
    await browser.show(id)
    const original = recordOf(browser.room, id)
    const takeover = await composeRevisionOf(keys, mallory, id, original, stamp(), 'I owe 1000')
    browser.room.rewriteMessage(id, takeover)
    expect(await browser.show(id)).toMatchObject({ kind: 'anomaly', reason: /replaced/ })
  })
})

describe('a record written over a message seen here', () => {
  it('that does not verify shows as an anomaly, not as a forged message in its place', async () => {
    const id = await post(browser.room, alice, 'the real text')
    await browser.show(id)
    const real = recordOf(browser.room, id)
    const fake = await composeMessage(keys, mallory, id, real.stamp, 'the fake text', false)
    browser.room.rewriteMessage(id, { ...fake, author: alice.keyId, publicKey: alice.publicKey })
    expect(await browser.show(id)).toMatchObject({ kind: 'anomaly', reason: /replaced/ })
  })
})

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}
