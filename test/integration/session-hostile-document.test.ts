// A token holder writes hostile values into a room with a stock y-websocket client (no link
// secret, no member key: only the relay token, as the relay's operator has it). The room must
// keep opening, showing the other messages with their text, and destroy() must complete —
// docs/document-model.md says what is validated where.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { generateSigningIdentity, newRoomSecret, type SigningIdentity } from '../../src/crypto'
import { DocKeys } from '../../src/model'
import { composeMessage, newMessageId } from '../../src/session/authoring'
import { RoomSession, type RoomSessionConfig } from '../../src/session/room-session'
import { connectionOf } from '../../src/ui/room-state'
import { StockClient } from '../support/relay-client'
import { startTestServer, type TestServer } from '../support/server-harness'

;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const RELAY_MS = 10_000

let server: TestServer
let alice: SigningIdentity
let mallory: SigningIdentity
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtException', onUnhandled)
  server = await startTestServer()
  alice = await generateSigningIdentity()
  mallory = await generateSigningIdentity()
})

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  process.off('uncaughtException', onUnhandled)
  await server?.close()
})

function config(): RoomSessionConfig {
  return {
    signalingUrls: [server.wsUrl('/signal')],
    iceServers: [],
    relayUrl: server.wsUrl('/relay'),
    displayName: 'Alice',
  }
}

async function shown(session: RoomSession): Promise<string[]> {
  const resolved = await Promise.all(
    session.timeline.entries().map((entry) => session.content.resolve(entry)),
  )
  return resolved.map((r) =>
    r.kind === 'message'
      ? (r.text ?? '(cannot decrypt)')
      : r.kind === 'anomaly'
        ? '(anomaly)'
        : r.kind,
  )
}

describe('a room with hostile values written by a token holder', () => {
  it('opens, shows the other messages and tears down, on every reopen', async () => {
    ;(globalThis as { indexedDB: IDBFactory }).indexedDB = new IDBFactory()
    const secret = newRoomSecret()
    const first = await RoomSession.open(secret, alice, config())
    await first.loaded
    await expect.poll(() => connectionOf(first).relay, { timeout: RELAY_MS }).toBe('connected')
    const hello = await first.send('hello')
    const second = await first.send('second')
    await expect.poll(() => first.deliveryOf(second), { timeout: RELAY_MS }).toBe('saved-to-relay')

    // Only the relay token: a stock client, as anyone holding it (the relay operator) can run.
    const vandal = new StockClient(server.wsUrl('/relay'), first.keys.roomId, {
      token: first.keys.relayToken,
    })
    await expect.poll(() => vandal.synced, { timeout: RELAY_MS }).toBe(true)
    // A far-future stamp, properly signed by a member: a valid record with an absurd clock.
    const futureId = newMessageId()
    const future = await composeMessage(
      first.keys,
      mallory,
      futureId,
      { wall: 2 ** 53 - 1, counter: 0 },
      'from the end of time',
      false,
    )
    const { encodeMessage } = await import('../../src/model')
    vandal.doc.transact(() => {
      vandal.doc.getMap(DocKeys.edits).set(hello, new Y.Map())
      vandal.doc.getMap(DocKeys.messages).set(futureId, encodeMessage(future))
    })
    await expect
      .poll(() => first.room.doc.getMap(DocKeys.edits).has(hello), { timeout: RELAY_MS })
      .toBe(true)
    await expect.poll(() => shown(first)).toEqual(['hello', 'second', '(anomaly)'])
    vandal.destroy()
    // A pending save of the newest messages is kept at teardown: it must not abort it.
    await first.destroy()
    expect(first.relay?.connected()).toBe(false)

    for (let round = 0; round < 2; round++) {
      const again = await RoomSession.open(secret, alice, config())
      await again.loaded
      expect(await shown(again)).toEqual(['hello', 'second', '(anomaly)'])
      await again.destroy()
    }
    expect(unhandled).toEqual([])
  })
})
