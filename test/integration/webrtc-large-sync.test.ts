// A large room syncs over WebRTC alone: our y-webrtc patch (patches/y-webrtc+10.3.0.patch)
// splits messages larger than one data-channel message into chunks. Unpatched, the owner's
// 2 MB answer closes the data channel and the newcomer never receives a message.
//
// Real peers: one Node process each, @roamhq/wrtc data channels over loopback, our signaling
// server. No relay, and no BroadcastChannel between processes (checked: bcPeers stays empty).

import { createRequire } from 'node:module'
import { afterEach, describe, expect, it } from 'vitest'
import type { PeerProcess } from '../support/webrtc-peer-process'
import type { PeerStatus } from '../support/webrtc-peer-protocol'
import { WebrtcTestRoom } from '../support/webrtc-room'

const ROOM_MESSAGES = 20_000
// Parley's message records are ~100 bytes of ciphertext; random bytes do not compress either.
const RECORD_BYTES = 100
// Chromium's and Safari's max-message-size: the patch never sends a larger data-channel message.
const MAX_FRAME_BYTES = 256 * 1024
// A 2 MB sync takes ~1 s on loopback; the bound only ends a broken run.
const SYNC_TIMEOUT_MS = 30_000

let current: WebrtcTestRoom | undefined

afterEach(async () => {
  await current?.close()
  current = undefined
})

async function openRoomWithOwner(
  name: string,
  ownerEnv: Record<string, string> = {},
): Promise<{ room: WebrtcTestRoom; owner: PeerProcess; ownerState: PeerStatus }> {
  const room = (current = await WebrtcTestRoom.open(`${name}-${process.pid}-${Date.now()}`))
  const owner = room.startPeer('owner', ownerEnv)
  await owner.request({ op: 'fill', count: ROOM_MESSAGES, recordBytes: RECORD_BYTES, seed: 1 })
  await room.join(owner)
  return { room, owner, ownerState: await owner.status() }
}

function expectSameRoom(a: PeerStatus, b: PeerStatus): void {
  expect(a.length).toBe(b.length)
  expect(a.digest).toBe(b.digest)
}

describe('a newcomer to a room of 20,000 messages', () => {
  it('receives every message over WebRTC alone', async () => {
    const { room, owner, ownerState } = await openRoomWithOwner('large-sync')
    const newcomer = room.startPeer('newcomer')
    await room.join(newcomer)

    const synced = await newcomer.waitForLength(ROOM_MESSAGES, SYNC_TIMEOUT_MS)

    expectSameRoom(synced, ownerState)
    // It came over the one open data channel, as at least one full copy of the document...
    expect(synced.openChannels).toBe(1)
    expect(synced.receivedBytes).toBeGreaterThanOrEqual(ownerState.docBytes)
    // ...in data-channel messages no browser refuses, not over BroadcastChannel.
    expect(synced.largestFrame).toBeLessThanOrEqual(MAX_FRAME_BYTES)
    expect(synced.bcPeers).toEqual([])
    // The newcomer does not send the room back to the peer it came from (stock y-webrtc
    // re-broadcast every update it applied, to its sender too).
    await new Promise((resolve) => setTimeout(resolve, 500))
    const ownerAfter = await owner.status()
    expect(ownerAfter.receivedBytes).toBeLessThan(ownerState.docBytes / 10)
    expect(ownerAfter.bcPeers).toEqual([])
    expect([...owner.logs, ...newcomer.logs]).toEqual([])
  })

  it('keeps exchanging live updates, small and chunked, both ways afterwards', async () => {
    const { room, owner } = await openRoomWithOwner('live-after-sync')
    const newcomer = room.startPeer('newcomer')
    await room.join(newcomer)
    await newcomer.waitForLength(ROOM_MESSAGES, SYNC_TIMEOUT_MS)

    // A chat's pace: one transaction per message.
    await owner.request({ op: 'fill', count: 50, recordBytes: RECORD_BYTES, seed: 2 })
    await newcomer.waitForLength(ROOM_MESSAGES + 50, SYNC_TIMEOUT_MS)
    await newcomer.request({ op: 'fill', count: 50, recordBytes: RECORD_BYTES, seed: 3 })
    await owner.waitForLength(ROOM_MESSAGES + 100, SYNC_TIMEOUT_MS)

    // One ~300 KB update (e.g. an offline backlog merged at once) needs chunks.
    await newcomer.request({
      op: 'fill',
      count: 3_000,
      recordBytes: RECORD_BYTES,
      seed: 4,
      oneTransaction: true,
    })
    const ownerState = await owner.waitForLength(ROOM_MESSAGES + 3_100, SYNC_TIMEOUT_MS)
    await owner.request({ op: 'fill', count: 1, recordBytes: RECORD_BYTES, seed: 5 })
    const newcomerState = await newcomer.waitForLength(ROOM_MESSAGES + 3_101, SYNC_TIMEOUT_MS)

    expectSameRoom(newcomerState, await owner.status())
    expect(ownerState.largestFrame).toBeLessThanOrEqual(MAX_FRAME_BYTES)
    expect(newcomerState.bcPeers).toEqual([])
    expect([...owner.logs, ...newcomer.logs]).toEqual([])
  })

  it('the require build (dist/y-webrtc.cjs) refuses to load instead of running unpatched', () => {
    // Only src/y-webrtc.js is patched (one source of truth, patches/README.md): a require()
    // of y-webrtc must fail loudly rather than quietly connect without chunking.
    const require = createRequire(import.meta.url)
    expect(() => {
      require('y-webrtc')
    }).toThrow(/this require\(\) build is not patched/)
  })
})
