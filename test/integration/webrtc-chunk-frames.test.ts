// Malformed chunk frames from a peer cost a console warning and the message they belonged to,
// never the connection or the process; a well-formed chunked message built here from the
// frame format in patches/README.md (not by y-webrtc) is reassembled and applied.

import * as encoding from 'lib0/encoding'
import { afterEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import { WebrtcTestRoom } from '../support/webrtc-room'

const MESSAGE_SYNC = 0
const MESSAGE_AWARENESS = 1
const SYNC_UPDATE = 2
const MESSAGE_CHUNK = 5
// The patch's limit on one reassembled message.
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024
const TIMEOUT_MS = 20_000

let current: WebrtcTestRoom | undefined

afterEach(async () => {
  await current?.close()
  current = undefined
})

function chunkFrame(totalSize: number, offset: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_CHUNK)
  encoding.writeVarUint(encoder, totalSize)
  encoding.writeVarUint(encoder, offset)
  encoding.writeUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

/** A y-webrtc sync update message carrying `records` new records, split into `chunkSize` chunks. */
function chunkedUpdate(records: number, chunkSize: number): Uint8Array[] {
  const doc = new Y.Doc()
  doc
    .getArray<Uint8Array>('records')
    .push(Array.from({ length: records }, (_, i) => new Uint8Array(100).fill(i % 256)))
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, SYNC_UPDATE)
  encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(doc))
  const message = encoding.toUint8Array(encoder)
  const frames: Uint8Array[] = []
  for (let offset = 0; offset < message.length; offset += chunkSize) {
    frames.push(chunkFrame(message.length, offset, message.subarray(offset, offset + chunkSize)))
  }
  return frames
}

const bytes = (length: number): Uint8Array => new Uint8Array(length).fill(7)
const base64 = (frames: Uint8Array[]): string[] =>
  frames.map((frame) => Buffer.from(frame).toString('base64'))

it('malformed chunk frames do not crash a peer or stop its sync', async () => {
  const room = (current = await WebrtcTestRoom.open(`chunk-frames-${process.pid}-${Date.now()}`))
  const victim = room.startPeer('victim')
  const sender = room.startPeer('sender')
  await victim.request({ op: 'fill', count: 100, recordBytes: 100, seed: 1 })
  await room.join(victim)
  await room.join(sender)
  await sender.waitForLength(100, TIMEOUT_MS)

  const malformed = [
    Uint8Array.of(MESSAGE_CHUNK), // no header
    Uint8Array.of(MESSAGE_CHUNK, 0x80), // truncated varUint
    Uint8Array.of(MESSAGE_CHUNK, ...new Array<number>(10).fill(0xff), 0x01), // varUint overflow
    chunkFrame(100, 0, bytes(10)),
    chunkFrame(100, 50, bytes(10)), // gap: expected offset 10
    chunkFrame(100, 10, bytes(10)), // continuation without a start
    chunkFrame(5, 0, bytes(10)), // payload beyond the total size
    chunkFrame(10, 0, bytes(0)), // empty chunk
    chunkFrame(MAX_MESSAGE_BYTES + 1, 0, bytes(10)), // over the limit: skipped to its end
    chunkFrame(MAX_MESSAGE_BYTES + 1, 10, bytes(10)),
    chunkFrame(100, 0, bytes(10)),
    chunkFrame(200, 0, bytes(10)), // a new message before the last one completed
    new Uint8Array(0), // what stock y-webrtc answers to chunk frames
    Uint8Array.of(9, 1, 2, 3), // a message type nobody knows
    // Bad bodies: y-protocols catches a bad update itself; a bad awareness message, chunked
    // or not, throws from y-webrtc's own decoding (and crashed stock y-webrtc under Node).
    chunkFrame(6, 0, Uint8Array.of(MESSAGE_SYNC, SYNC_UPDATE, 0xff, 0xff, 0xff, 0xff)),
    Uint8Array.of(MESSAGE_AWARENESS, 0xff, 0xff),
    chunkFrame(3, 0, Uint8Array.of(MESSAGE_AWARENESS, 0xff, 0xff)),
  ]
  await sender.request({ op: 'sendRaw', frames: base64(malformed) })
  // Sync goes on, both ways, over the same data channel.
  await victim.request({ op: 'fill', count: 10, recordBytes: 100, seed: 2 })
  await sender.waitForLength(110, TIMEOUT_MS)
  // Then a good chunked message: 1,000 more records in 40 KB chunks.
  await sender.request({ op: 'sendRaw', frames: base64(chunkedUpdate(1_000, 40_000)) })
  await victim.waitForLength(1_110, TIMEOUT_MS)
  await sender.request({ op: 'fill', count: 10, recordBytes: 100, seed: 3 })
  const victimState = await victim.waitForLength(1_120, TIMEOUT_MS)
  // The 1,000 records the sender sent raw are not in its own document, and the victim does
  // not send a peer's update back to that peer.
  expect((await sender.status()).length).toBe(120)
  expect(victimState.openChannels).toBe(1)
  expect(victim.alive).toBe(true)
  expect(victim.errorOutput).toBe('')

  const warnings = victim.logs.filter((log) => log.log === 'warn').map((log) => log.text)
  for (const expected of [
    'malformed chunk (offset 0, total 0)',
    'expected offset 10 of 100',
    'chunk at offset 10 of 100 bytes without its start',
    'malformed chunk (offset 0, total 5)',
    'malformed chunk (offset 0, total 10)',
    `ignoring a chunked message of ${MAX_MESSAGE_BYTES + 1} bytes`,
    'incomplete (10 of 100 bytes) when the next began',
    'incomplete (10 of 200 bytes) when the next began',
  ]) {
    expect(
      warnings.some((text) => text.includes(expected)),
      expected,
    ).toBe(true)
  }
  expect(warnings.filter((text) => text.includes('failed to process a message'))).toHaveLength(2)
  // The over-limit message's continuation is skipped quietly, not warned about again.
  expect(
    warnings.filter((text) => text.includes(`of ${MAX_MESSAGE_BYTES + 1} bytes`)),
  ).toHaveLength(1)
  // Stock y-webrtc's complaint about the unknown type, which is no longer answered.
  expect(victim.logs).toContainEqual({ log: 'error', text: 'Unable to compute message' })
})
