// The links' awareness follows the document's client id when Yjs replaces it mid-session (a
// peer showed our id ahead of us): against our real relay on port 0 with stock y-websocket
// clients (RelayLink). Before, the provider threw on its next reconnect (it encodes the
// awareness entry of `doc.clientID`, which the awareness never had).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { deriveRoomKeys, newRoomSecret } from '../../src/crypto'
import { RelayLink } from '../../src/net/relay-link'
import { followDocClientId } from '../../src/net/awareness-client-id'
import { startTestServer, type TestServer } from '../support/server-harness'

// Node 20 has no global WebSocket; y-websocket's client needs one.
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const RELAY_MS = 10_000

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

describe('awareness follows the document client id', () => {
  it('after Yjs replaces the id, presence is published under the new one and reconnects work', async () => {
    const keys = await deriveRoomKeys(newRoomSecret())
    const options = { url: server.wsUrl('/relay'), roomId: keys.roomId, token: keys.relayToken }
    const doc = new Y.Doc()
    const observerDoc = new Y.Doc()
    const link = new RelayLink(doc, options)
    const observer = new RelayLink(observerDoc, options)
    let republished = 0
    const stop = followDocClientId(doc, [link.awareness], () => {
      republished += 1
      link.awareness.setLocalState({ name: 'again' })
    })
    try {
      link.start()
      observer.start()
      await expect
        .poll(() => link.connected() && observer.connected(), { timeout: RELAY_MS })
        .toBe(true)
      link.awareness.setLocalState({ name: 'first' })
      const oldId = doc.clientID
      await expect
        .poll(() => observer.awareness.getStates().get(oldId), { timeout: RELAY_MS })
        .toEqual({ name: 'first' })

      // A replica shows a write under our id that we do not have: Yjs takes a new id.
      const elsewhere = new Y.Doc()
      elsewhere.clientID = oldId
      elsewhere.getMap('m').set('x', 'written under our id elsewhere')
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(elsewhere), 'remote')
      expect(doc.clientID).not.toBe(oldId)
      expect(link.awareness.clientID).toBe(doc.clientID)
      expect(republished).toBe(1)

      // The socket drops; y-websocket reconnects and announces our awareness entry.
      link.provider.ws?.close()
      await expect.poll(() => link.provider.wsconnected, { timeout: RELAY_MS }).toBe(false)
      await expect.poll(() => link.connected(), { timeout: RELAY_MS }).toBe(true)
      // (The relay dropped our entry with the socket; y-websocket re-sends it at the same clock,
      // which peers ignore until it next changes — as presence does when it is republished.)
      link.awareness.setLocalState({ name: 'after reconnecting' })
      await expect
        .poll(() => observer.awareness.getStates().get(doc.clientID), { timeout: RELAY_MS })
        .toEqual({ name: 'after reconnecting' })
      expect(observer.awareness.getStates().has(oldId)).toBe(false)
    } finally {
      stop()
      link.destroy()
      observer.destroy()
    }
  })
})
