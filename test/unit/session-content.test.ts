// Decrypt-and-verify on receive (docs/architecture.md) with real WebCrypto keys: what each kind of bad
// input looks like to a reader, and that it never hides the other messages.
import { beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { RoomDocument } from '../../src/model'
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
import {
  composeEdit,
  composeMember,
  composeMessage,
  composeRevisionOf,
  composeTombstone,
  newMessageId,
} from '../../src/session/authoring'
import { composeLegacyMessage } from '../support/legacy-records'

let keys: RoomKeys
let alice: SigningIdentity
let mallory: SigningIdentity
let room: RoomDocument
let members: MemberDirectory
let timeline: Timeline
let resolver: MessageContentResolver
let tick = 1_000

const stamp = () => ({ wall: ++tick, counter: 0 })

async function join(identity: SigningIdentity, name: string, roomKeys = keys) {
  room.setMember(
    toBase64Url(identity.keyId),
    await composeMember(roomKeys, identity, stamp(), name),
  )
}

async function post(author: SigningIdentity, text: string, roomKeys = keys) {
  const id = newMessageId()
  room.insertMessage(id, await composeMessage(roomKeys, author, id, stamp(), text, false))
  return id
}

async function resolved(id: string) {
  await members.publicKeyOf(toBase64Url(alice.keyId))
  await members.publicKeyOf(toBase64Url(mallory.keyId))
  const entry = timeline.get(id)
  if (!entry) throw new Error(`no timeline entry for ${id}`)
  return resolver.resolve(entry)
}

beforeEach(async () => {
  keys = await deriveRoomKeys(newRoomSecret())
  alice = await generateSigningIdentity()
  mallory = await generateSigningIdentity()
  room = new RoomDocument(new Y.Doc())
  members = new MemberDirectory(room, keys)
  timeline = new Timeline(room)
  resolver = new MessageContentResolver(keys, members)
  members.changed.subscribe(() => resolver.membersChanged())
  await join(alice, 'Alice')
  await join(mallory, 'Mallory')
})

describe('reading messages', () => {
  it('shows a verified message with its text', async () => {
    const id = await post(alice, 'hello')
    expect(await resolved(id)).toMatchObject({
      kind: 'message',
      text: 'hello',
      authenticity: 'verified',
      edited: false,
    })
    expect(members.get(toBase64Url(alice.keyId))?.name).toBe('Alice')
  })

  it('marks a message whose signature does not match its author as forged', async () => {
    const id = newMessageId()
    const real = await composeMessage(keys, mallory, id, stamp(), 'I am Alice', false)
    room.insertMessage(id, { ...real, author: alice.keyId, publicKey: alice.publicKey })
    expect(await resolved(id)).toMatchObject({ kind: 'message', authenticity: 'forged' })
  })

  it("shows a message claiming another's key id with its own key as an anomaly", async () => {
    const id = newMessageId()
    const real = await composeMessage(keys, mallory, id, stamp(), 'I am Alice', false)
    room.insertMessage(id, { ...real, author: alice.keyId })
    expect(await resolved(id)).toMatchObject({ kind: 'anomaly', reason: /key id/ })
  })

  it('verifies a message whose author has no member entry: it carries its key', async () => {
    const carol = await generateSigningIdentity()
    const id = await post(carol, 'hi, new here')
    expect(await resolved(id)).toMatchObject({ authenticity: 'verified', legacy: false })
  })

  it('marks a v1 message from an unknown author unverified until the member entry arrives', async () => {
    const carol = await generateSigningIdentity()
    const id = newMessageId()
    room.insertMessage(id, await composeLegacyMessage(keys, carol, id, stamp(), 'hi, new here'))
    expect(await resolved(id)).toMatchObject({
      authenticity: 'unverified',
      legacy: true,
      text: 'hi, new here',
    })
    await join(carol, 'Carol')
    await members.publicKeyOf(toBase64Url(carol.keyId))
    expect(await resolver.resolve(timeline.get(id)!)).toMatchObject({ authenticity: 'verified' })
  })

  it('shows "cannot decrypt" for a message sealed with another room key, and the rest normally', async () => {
    const otherKeys = await deriveRoomKeys(newRoomSecret())
    const bad = await post(alice, 'other room', otherKeys)
    const good = await post(alice, 'this room')
    expect(await resolved(bad)).toMatchObject({ kind: 'message', text: null })
    expect(await resolved(good)).toMatchObject({ kind: 'message', text: 'this room' })
  })

  it('refuses an envelope moved onto another message', async () => {
    const original = await post(alice, 'secret plan')
    const record = timeline.get(original)!.record!
    const movedId = newMessageId()
    const forged = await composeMessage(keys, mallory, movedId, stamp(), 'placeholder', false)
    room.insertMessage(movedId, { ...forged, envelope: record.envelope })
    expect(await resolved(movedId)).toMatchObject({ kind: 'message', text: null })
  })

  it('ignores a member entry whose key id is not the hash of its key', async () => {
    const fake = await composeMember(keys, mallory, stamp(), 'Alice')
    room.setMember('A'.repeat(22), fake)
    await members.publicKeyOf('A'.repeat(22))
    expect(members.get('A'.repeat(22))).toBeUndefined()
  })
})

describe('edits and deletes', () => {
  it("shows the author's edit as edited", async () => {
    const id = await post(alice, 'helo')
    const original = timeline.get(id)!.record!
    room.rewriteMessage(id, await composeRevisionOf(keys, alice, id, original, stamp(), 'hello'))
    expect(await resolved(id)).toMatchObject({
      text: 'hello',
      edited: true,
      authenticity: 'verified',
    })
  })

  it("shows a v1 message's v1 edit by its author as edited", async () => {
    const id = newMessageId()
    room.insertMessage(id, await composeLegacyMessage(keys, alice, id, stamp(), 'helo'))
    room.setEdit(id, await composeEdit(keys, alice, id, stamp(), 'hello'))
    expect(await resolved(id)).toMatchObject({
      text: 'hello',
      edited: true,
      authenticity: 'verified',
    })
  })

  it('ignores a v1 edit by someone other than the author', async () => {
    const id = newMessageId()
    const text = 'I owe Mallory nothing'
    room.insertMessage(id, await composeLegacyMessage(keys, alice, id, stamp(), text))
    room.setEdit(id, await composeEdit(keys, mallory, id, stamp(), 'I owe Mallory 1000'))
    expect(await resolved(id)).toMatchObject({ text: 'I owe Mallory nothing', edited: false })
  })

  it('ignores a v1 edit claiming the author but signed by someone else', async () => {
    const id = newMessageId()
    room.insertMessage(id, await composeLegacyMessage(keys, alice, id, stamp(), 'original'))
    const edit = await composeEdit(keys, mallory, id, stamp(), 'changed')
    room.setEdit(id, { ...edit, author: alice.keyId })
    expect(await resolved(id)).toMatchObject({ text: 'original', edited: false })
  })

  it("shows the author's delete as deleted and removes the ciphertext", async () => {
    const id = await post(alice, 'oops')
    const record = timeline.get(id)!.record!
    room.deleteMessage(id, await composeTombstone(keys, alice, id, record))
    expect(room.maps.messages.has(id)).toBe(false)
    expect(await resolved(id)).toEqual({ kind: 'deleted' })
  })

  it('ignores a tombstone by someone else while the message is there', async () => {
    const id = await post(alice, 'keep me')
    const record = timeline.get(id)!.record!
    room.maps.tombstones.set(
      id,
      (await import('../../src/model')).encodeTombstone(
        await composeTombstone(keys, mallory, id, record),
      ),
    )
    expect(await resolved(id)).toMatchObject({ kind: 'message', text: 'keep me' })
  })

  it('shows a message removed without a valid tombstone as an anomaly', async () => {
    const id = await post(alice, 'here today')
    room.doc.transact(() => room.maps.messages.delete(id))
    expect(await resolved(id)).toMatchObject({ kind: 'anomaly' })
  })

  it("shows a message removed with someone else's tombstone as an anomaly", async () => {
    const id = await post(alice, 'here today')
    const record = timeline.get(id)!.record!
    room.deleteMessage(id, await composeTombstone(keys, mallory, id, record))
    expect(await resolved(id)).toMatchObject({ kind: 'anomaly' })
  })
})

describe('duplicates', () => {
  it('the same message arriving twice shows once', async () => {
    const id = await post(alice, 'once')
    const update = Y.encodeStateAsUpdate(room.doc)
    const replica = new RoomDocument(new Y.Doc())
    const replicaTimeline = new Timeline(replica)
    Y.applyUpdate(replica.doc, update)
    Y.applyUpdate(replica.doc, update)
    expect(replicaTimeline.entries().map((e) => e.id)).toEqual([id])
  })
})
