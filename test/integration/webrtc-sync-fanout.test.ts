// A newcomer to a room with several peers receives the document about once, not once per peer:
// our y-webrtc patch holds its sync step 1 to further peers until the first peer's answer (the
// whole document) arrived, so they answer with only what it still lacks. Stock y-webrtc asks
// every peer at once and each answers with everything.

import { afterEach, expect, it } from 'vitest'
import { WebrtcTestRoom } from '../support/webrtc-room'

const ROOM_MESSAGES = 20_000
const RECORD_BYTES = 100
const SYNC_TIMEOUT_MS = 30_000

let current: WebrtcTestRoom | undefined

afterEach(async () => {
  await current?.close()
  current = undefined
})

it('a newcomer joining two peers receives about one copy of the room', async () => {
  const room = (current = await WebrtcTestRoom.open(`fanout-${process.pid}-${Date.now()}`))
  const owner = room.startPeer('owner')
  const member = room.startPeer('member')
  const newcomer = room.startPeer('newcomer')
  await owner.request({ op: 'fill', count: ROOM_MESSAGES, recordBytes: RECORD_BYTES, seed: 1 })
  await room.join(owner)
  await room.join(member)
  const ownerState = await member
    .waitForLength(ROOM_MESSAGES, SYNC_TIMEOUT_MS)
    .then(() => owner.status())

  // The newcomer's announce reaches both peers at once; both connect to it.
  await room.join(newcomer)
  await newcomer.waitForSyncStep2(2, SYNC_TIMEOUT_MS)
  const synced = await newcomer.waitForLength(ROOM_MESSAGES, SYNC_TIMEOUT_MS)

  expect(synced.digest).toBe(ownerState.digest)
  expect(synced.openChannels).toBe(2)
  expect(synced.bcPeers).toEqual([])
  // One peer sent the document; the other sent its state vector, awareness and an empty diff.
  const [fromFirst, fromSecond] = synced.receivedBytesByPeer
  expect(fromFirst).toBeGreaterThanOrEqual(ownerState.docBytes)
  expect(fromSecond).toBeLessThan(ownerState.docBytes * 0.05)
  expect(synced.receivedBytes).toBeLessThan(ownerState.docBytes * 1.1)
  expect([...owner.logs, ...member.logs, ...newcomer.logs]).toEqual([])
})
