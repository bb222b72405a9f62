// Signed presence (docs/presence.md) with real WebCrypto keys and real y-protocols awareness:
// a member cannot pass as someone else (a key id that is not theirs, a signature that is not
// the key's, a state moved to another client id, an earlier or stale state sent again), names
// come only from verified member records, never from presence, and only a verified member other
// than us makes a message "delivered".
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { RoomDocument } from '../../src/model'
import {
  deriveRoomKeys,
  generateSigningIdentity,
  newRoomSecret,
  sealEnvelope,
  toBase64Url,
  utf8,
  type RoomKeys,
  type SigningIdentity,
} from '../../src/crypto'
import { composeMember } from '../../src/session/authoring'
import { MemberDirectory } from '../../src/session/members'
import {
  PRESENCE_MAX_AGE_MS,
  PresenceChannel,
  type PresenceState,
} from '../../src/session/presence'
import { signPresence } from '../../src/session/presence-state'
import { RoomPresence, presentMembers } from '../../src/session/room-presence'
import { DeliveryTracker, type WroteBefore } from '../../src/session/delivery'
import type { WebrtcLink } from '../../src/net/webrtc-link'

let keys: RoomKeys
let alice: SigningIdentity
let bob: SigningIdentity
let mallory: SigningIdentity
let clock: number
const now = () => clock
const cleanup: (() => void)[] = []

beforeEach(async () => {
  keys = await deriveRoomKeys(newRoomSecret())
  ;[alice, bob, mallory] = await Promise.all([1, 2, 3].map(() => generateSigningIdentity()))
  clock = 1_800_000_000_000
})

afterEach(() => {
  for (const dispose of cleanup.splice(0)) dispose()
  vi.useRealTimers()
})

/** An awareness with the given client id (a hostile peer picks any). */
function awarenessWithId(clientId: number): Awareness {
  const doc = new Y.Doc()
  doc.clientID = clientId
  const awareness = new Awareness(doc)
  cleanup.push(() => awareness.destroy())
  return awareness
}

/** Bob's view of the room: his channel, and a way to deliver another awareness's state. */
function bobsView() {
  const awareness = awarenessWithId(2)
  const channel = new PresenceChannel(awareness, {
    roomId: keys.roomId,
    contentKey: keys.contentKey,
    identity: bob,
    now,
  })
  cleanup.push(() => channel.destroy())
  const deliver = (from: Awareness): void =>
    applyAwarenessUpdate(awareness, encodeAwarenessUpdate(from, [from.clientID]), 'remote')
  return { channel, deliver }
}

function channelFor(awareness: Awareness, identity: SigningIdentity): PresenceChannel {
  const channel = new PresenceChannel(awareness, {
    roomId: keys.roomId,
    contentKey: keys.contentKey,
    identity,
    now,
  })
  cleanup.push(() => channel.destroy())
  return channel
}

/** What a member holding the content key can put in an awareness entry: any plaintext. */
async function setSealed(awareness: Awareness, plain: string): Promise<void> {
  const sealed = await sealEnvelope(
    keys.contentKey,
    'presence',
    String(awareness.clientID),
    utf8.encode(plain),
  )
  awareness.setLocalState({ e: toBase64Url(sealed) })
}

/** Lets pending decryptions and verifications finish: each takes well under a millisecond
 * here, and a negative check (nothing shown) has no event to wait for. setTimeout is never
 * faked in this file. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50))
}

/** Waits for what a delivered state should lead to. */
async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 5_000) throw new Error('timed out waiting for presence')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const state: PresenceState = { webrtcPeerId: 'peer-a', want: [], seen: { '7': 3 } }

describe('signed presence', () => {
  it('shows an honest state under the key that signed it', async () => {
    const bobs = bobsView()
    const alicesAwareness = awarenessWithId(1)
    await channelFor(alicesAwareness, alice).publish(state)
    bobs.deliver(alicesAwareness)
    await until(() => bobs.channel.people().length === 1)
    expect(bobs.channel.people()).toMatchObject([
      { clientId: 1, keyId: toBase64Url(alice.keyId), webrtcPeerId: 'peer-a', seen: { '7': 3 } },
    ])
  })

  it("refuses a state claiming another person's key id, signed by someone else's key", async () => {
    const bobs = bobsView()
    const forger = awarenessWithId(66)
    // Alice's key id and public key, Mallory's private key: the signature cannot verify.
    const asAlice = { ...alice, privateKey: mallory.privateKey }
    const signed = await signPresence(asAlice, { roomId: keys.roomId, clientId: 66 }, state, clock)
    await setSealed(forger, signed)
    bobs.deliver(forger)
    await settle()
    expect(bobs.channel.people()).toEqual([])
  })

  it('refuses a key id that is not the hash of the signing key', async () => {
    const bobs = bobsView()
    const forger = awarenessWithId(66)
    const claimsAlice = { ...mallory, keyId: alice.keyId }
    const signed = await signPresence(
      claimsAlice,
      { roomId: keys.roomId, clientId: 66 },
      state,
      clock,
    )
    await setSealed(forger, signed)
    bobs.deliver(forger)
    await settle()
    expect(bobs.channel.people()).toEqual([])
  })

  it('refuses a state changed after it was signed', async () => {
    const bobs = bobsView()
    const forger = awarenessWithId(66)
    const signed = await signPresence(mallory, { roomId: keys.roomId, clientId: 66 }, state, clock)
    const outer = JSON.parse(signed) as { s: string }
    outer.s = outer.s.replace('"7":3', '"7":999999')
    await setSealed(forger, JSON.stringify(outer))
    bobs.deliver(forger)
    await settle()
    expect(bobs.channel.people()).toEqual([])
  })

  it('refuses an unsigned state of the previous format (a key id and name, in clear)', async () => {
    const bobs = bobsView()
    const forger = awarenessWithId(66)
    const legacy = { v: 1, keyId: toBase64Url(alice.keyId), name: 'Alice', seen: { '7': 9 } }
    await setSealed(forger, JSON.stringify(legacy))
    bobs.deliver(forger)
    await settle()
    expect(bobs.channel.people()).toEqual([])
  })

  it("refuses another tab's signed state re-sealed under a different client id", async () => {
    const bobs = bobsView()
    const alicesAwareness = awarenessWithId(1)
    const signed = await signPresence(alice, { roomId: keys.roomId, clientId: 1 }, state, clock)
    const replayer = awarenessWithId(66)
    await setSealed(replayer, signed) // a member has the content key: the seal is not the check
    bobs.deliver(replayer)
    await settle()
    expect(bobs.channel.people()).toEqual([])
    await setSealed(alicesAwareness, signed)
    bobs.deliver(alicesAwareness)
    await until(() => bobs.channel.people().length === 1)
    expect(bobs.channel.people().map((p) => p.clientId)).toEqual([1])
  })

  it('refuses a signed state of another room', async () => {
    const bobs = bobsView()
    const other = await deriveRoomKeys(newRoomSecret())
    const forger = awarenessWithId(66)
    const signed = await signPresence(mallory, { roomId: other.roomId, clientId: 66 }, state, clock)
    await setSealed(forger, signed)
    bobs.deliver(forger)
    await settle()
    expect(bobs.channel.people()).toEqual([])
  })

  it('keeps the newer state when an earlier one of the same client id is replayed', async () => {
    const bobs = bobsView()
    const alicesAwareness = awarenessWithId(1)
    const earlier = await signPresence(alice, { roomId: keys.roomId, clientId: 1 }, state, clock)
    await setSealed(alicesAwareness, earlier)
    bobs.deliver(alicesAwareness)
    await until(() => bobs.channel.people().length === 1)
    clock += 1_000
    const later = await signPresence(
      alice,
      { roomId: keys.roomId, clientId: 1 },
      { ...state, seen: { '7': 5 } },
      clock,
    )
    await setSealed(alicesAwareness, later)
    bobs.deliver(alicesAwareness)
    await until(() => bobs.channel.people()[0].seen?.['7'] === 5)
    expect(bobs.channel.people()[0].seen).toEqual({ '7': 5 })
    // Someone sends the earlier state again under Alice's client id, with a newer awareness clock.
    await setSealed(alicesAwareness, earlier)
    bobs.deliver(alicesAwareness)
    await settle()
    expect(bobs.channel.people()[0].seen).toEqual({ '7': 5 })
  })

  it('refuses a state signed longer ago than the age limit, or too far ahead', async () => {
    const bobs = bobsView()
    const alicesAwareness = awarenessWithId(1)
    const old = await signPresence(
      alice,
      { roomId: keys.roomId, clientId: 1 },
      state,
      clock - PRESENCE_MAX_AGE_MS - 1,
    )
    await setSealed(alicesAwareness, old)
    bobs.deliver(alicesAwareness)
    await settle()
    expect(bobs.channel.people()).toEqual([])
    const ahead = await signPresence(
      alice,
      { roomId: keys.roomId, clientId: 1 },
      state,
      clock + 60 * 60_000,
    )
    await setSealed(alicesAwareness, ahead)
    bobs.deliver(alicesAwareness)
    await settle()
    expect(bobs.channel.people()).toEqual([])
  })

  it('drops a state once it ages out, and a live tab renews its signature before that', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const bobs = bobsView()
    const alicesAwareness = awarenessWithId(1)
    const alices = channelFor(alicesAwareness, alice)
    await alices.publish(state)
    bobs.deliver(alicesAwareness)
    await until(() => bobs.channel.people().length === 1)
    const captured = alicesAwareness.getLocalState()
    for (let t = 0; t <= PRESENCE_MAX_AGE_MS + 60_000; t += 30_000) {
      clock += 30_000
      vi.advanceTimersByTime(30_000)
      await settle()
      // Alice is live: her channel re-signs when due; deliver what she has now.
      bobs.deliver(alicesAwareness)
      await settle()
    }
    expect(alicesAwareness.getLocalState()).not.toEqual(captured)
    expect(bobs.channel.people().map((p) => p.clientId)).toEqual([1])
    expect(bobs.channel.people()[0].signedAt).toBeGreaterThan(clock - PRESENCE_MAX_AGE_MS)

    // Now Alice goes quiet but someone keeps re-sending her last state: it ages out.
    alices.destroy()
    for (let t = 0; t <= PRESENCE_MAX_AGE_MS + 60_000; t += 30_000) {
      clock += 30_000
      vi.advanceTimersByTime(30_000)
      alicesAwareness.setLocalState(alicesAwareness.getLocalState()) // renewed, never re-signed
      bobs.deliver(alicesAwareness)
      await settle()
    }
    expect(bobs.channel.people()).toEqual([])
  })
})

describe('names come only from verified member records', () => {
  it('names a presence by its member record, and leaves out one with no record', async () => {
    const room = new RoomDocument(new Y.Doc())
    const members = new MemberDirectory(room, keys)
    cleanup.push(() => members.destroy())
    room.setMember(
      toBase64Url(mallory.keyId),
      await composeMember(keys, mallory, { wall: 1, counter: 0 }, 'Mallory'),
    )
    room.setMember(
      toBase64Url(alice.keyId),
      await composeMember(keys, alice, { wall: 2, counter: 0 }, 'Alice'),
    )
    await members.publicKeyOf(toBase64Url(mallory.keyId))
    await members.publicKeyOf(toBase64Url(alice.keyId))

    const bobs = bobsView()
    // Mallory signs her own state honestly but adds a name: presence names are not read.
    const forger = awarenessWithId(66)
    const signed = await signPresence(
      mallory,
      { roomId: keys.roomId, clientId: 66 },
      { ...state, name: 'Alice' } as PresenceState,
      clock,
    )
    await setSealed(forger, signed)
    bobs.deliver(forger)
    // A newcomer with a valid key but no member record (yet).
    const stranger = await generateSigningIdentity()
    const strangersAwareness = awarenessWithId(77)
    await channelFor(strangersAwareness, stranger).publish(state)
    bobs.deliver(strangersAwareness)
    await until(() => bobs.channel.people().length === 2)

    const present = presentMembers(bobs.channel.people(), members)
    expect(present.map((p) => [p.keyId, p.name])).toEqual([[toBase64Url(mallory.keyId), 'Mallory']])
  })
})

describe('"delivered" needs a verified member other than us', () => {
  it('ignores acknowledgements forged as someone, from a stranger, or from our own tabs', async () => {
    const room = new RoomDocument(new Y.Doc())
    const members = new MemberDirectory(room, keys)
    cleanup.push(() => members.destroy())
    for (const [identity, name] of [
      [alice, 'Alice'],
      [bob, 'Bob'],
    ] as const) {
      const keyId = toBase64Url(identity.keyId)
      room.setMember(keyId, await composeMember(keys, identity, { wall: 1, counter: 0 }, name))
      await members.publicKeyOf(keyId)
    }
    // Alice writes once; her presence waits to hear it acknowledged.
    const aliceDoc = new Y.Doc()
    aliceDoc.getMap('m').set('k', 'written')
    const delivery = new DeliveryTracker(keys.roomId, undefined)
    cleanup.push(() => delivery.destroy())
    delivery.track(aliceDoc)
    // The write is aliceDoc's item at clock 0: "written below clock k" for any k above it.
    const write: WroteBefore = (client, clock) => client === aliceDoc.clientID && clock > 0
    const alicesAwareness = awarenessWithId(1)
    const link = { awareness: alicesAwareness, peerId: 'alice' } as unknown as WebrtcLink
    const presence = new RoomPresence(
      aliceDoc,
      { webrtc: link, relay: null },
      keys,
      alice,
      delivery,
      members,
      { sharedPosition: () => undefined },
    )
    cleanup.push(() => presence.destroy())
    const deliverTo = (from: Awareness): void =>
      applyAwarenessUpdate(alicesAwareness, encodeAwarenessUpdate(from, [from.clientID]), 'remote')
    const acknowledging = { want: [], seen: { [String(aliceDoc.clientID)]: 1 } }
    const from = async (identity: SigningIdentity, clientId: number) => {
      const awareness = awarenessWithId(clientId)
      const signed = await signPresence(
        identity,
        { roomId: keys.roomId, clientId },
        acknowledging,
        Date.now(),
      )
      await setSealed(awareness, signed)
      deliverTo(awareness)
    }

    await from({ ...bob, privateKey: mallory.privateKey }, 66) // forged as Bob
    await from(await generateSigningIdentity(), 77) // verifies, but is no member
    await from(alice, 88) // Alice's own other tab
    await until(() => presence.all().length === 2) // the stranger and Alice's tab verify
    await settle()
    expect(delivery.stateOf(write)).toBe('pending')
    expect(presence.present().map((p) => p.name)).toEqual(['Alice'])

    await from(bob, 2)
    await until(() => delivery.stateOf(write) === 'delivered')
    expect(
      presence
        .present()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['Alice', 'Bob'])
  })
})
