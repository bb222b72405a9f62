// A room's WebrtcLink started while an earlier link of the same room is still open (leaving a
// room and coming back before its session finished closing) connects once the earlier one is
// gone (docs/webrtc.md, "Teardown and one provider per room"). Before, y-webrtc threw inside a
// promise when the second provider's key was ready ("A Yjs Doc connected to room … already
// exists"), and that provider never had a room: WebRTC silently dead for the session.
// Real signaling server on port 0; a raw signaling client watches the room's topic.
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { afterEach, expect, it } from 'vitest'
import { WebrtcLink, type WebrtcLinkOptions } from '../../src/net/webrtc-link'
import { heldRoomNames } from '../../src/net/webrtc-room-slots'
import { startTestServer, type TestServer } from '../support/server-harness'
import { TestSignalClient } from '../support/server-signal-client'

// Node 20 has no global WebSocket; y-webrtc's signaling client needs one.
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

let server: TestServer | undefined
let watcher: TestSignalClient | undefined
const links: WebrtcLink[] = []

afterEach(async () => {
  await Promise.all(links.splice(0).map((link) => link.destroy()))
  await watcher?.close()
  await server?.close()
})

interface Publish {
  type: 'publish'
  topic: string
}

function isPublish(message: unknown, topic: string): message is Publish {
  const m = message as Partial<Publish> | null
  return m?.type === 'publish' && m.topic === topic
}

async function nextPublish(client: TestSignalClient, topic: string): Promise<Publish> {
  for (;;) {
    const message = await client.next()
    if (isPublish(message, topic)) return message
  }
}

function link(options: WebrtcLinkOptions): WebrtcLink {
  const created = new WebrtcLink(new Y.Doc(), options)
  links.push(created)
  return created
}

it('a link of a room started before the previous one is destroyed opens the room after it', async () => {
  server = await startTestServer()
  const roomName = `switch-${process.pid}-${Date.now()}`
  const options = {
    roomName,
    password: 'room password',
    signalingUrls: [server.wsUrl('/signal')],
    iceServers: [],
  }
  watcher = await TestSignalClient.connect(server.wsUrl('/signal'))
  watcher.send({ type: 'subscribe', topics: [roomName] })
  await watcher.sync()

  const first = link(options)
  first.start()
  await nextPublish(watcher, roomName) // its announce: the room is open
  const firstPeerId = first.peerId
  expect(firstPeerId).toBeDefined()

  // Coming back: the new link starts while the old one is still open, and its provider (if it
  // makes one now) has its key before the old one is destroyed.
  const second = link(options)
  second.start()
  await second.provider?.key
  await new Promise((resolve) => setImmediate(resolve))
  expect(second.peerId).toBeUndefined()

  await first.destroy()
  await nextPublish(watcher, roomName) // the new link's announce
  expect(second.peerId).toBeDefined()
  expect(second.peerId).not.toBe(firstPeerId)
  expect(second.signalingConnected()).toBe(true)

  await second.destroy()
  await new Promise((resolve) => setImmediate(resolve)) // the slot forgets the name after release
  expect(heldRoomNames()).toBe(0)
})

it('links of one room destroyed while waiting never open it; the last one does', async () => {
  server = await startTestServer()
  const roomName = `switch-many-${process.pid}-${Date.now()}`
  const options = {
    roomName,
    password: 'room password',
    signalingUrls: [server.wsUrl('/signal')],
    iceServers: [],
  }
  watcher = await TestSignalClient.connect(server.wsUrl('/signal'))
  watcher.send({ type: 'subscribe', topics: [roomName] })
  await watcher.sync()

  // A -> B -> A -> B -> A as fast as it goes: every link but the last is destroyed at once.
  const started = Array.from({ length: 5 }, () => link(options))
  for (const [i, each] of started.entries()) {
    each.start()
    if (i < started.length - 1) void each.destroy()
  }
  const last = started[started.length - 1]
  await nextPublish(watcher, roomName)
  expect(last?.peerId).toBeDefined()
  expect(started.slice(0, -1).map((each) => each.provider)).toEqual([null, null, null, null])
  await watcher.sync()
  expect(watcher.pending().filter((m) => isPublish(m, roomName))).toEqual([])
})
