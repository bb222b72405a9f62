// The y-websocket protocol as the relay speaks it: turns one untrusted binary frame into a typed
// message or a violation naming the broken rule, and encodes what the relay sends. No sockets,
// no state, no Y.Doc: the room decides what to do with a message.
//
// PROTOCOL (binary frames; lib0 varUint / varUint8Array encoding; y-protocols PROTOCOL.md):
//   [0 sync][0 step 1][varUint8Array state vector]   "what I have"; answered with a step 2
//   [0 sync][1 step 2][varUint8Array Yjs V1 update]  what the receiver of a step 1 lacks
//   [0 sync][2 update][varUint8Array Yjs V1 update]  a live change
//   [1 awareness][varUint8Array awareness update]    presence: [n]{client, clock, JSON state}
//   [3 query awareness]                              "send me every presence state"
//   [100 newest records][varUint8Array Yjs V1 update] relay → client, once, on connect, only to
//                                                    a client that asked (`?newest=1`): the
//                                                    newest messages' records as a small
//                                                    document of the same layout, before the
//                                                    room's step 2 (docs/relay.md)
// On connect the relay sends its step 1 and every presence state; the client sends its step 1
// and the relay answers with a step 2. The relay's step 1 always carries only what is durably
// stored, so it doubles as the "saved to relay" acknowledgement (docs/architecture.md). An awareness update
// listing no clients ([1][1][0]) is the keepalive: stock clients apply it as a no-op, and it
// resets their 30 s "no message received" watchdog. Message types the relay does not know
// (2 auth is server → client only) are ignored, as the stock server does.

import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { NEWEST_RECORDS_MESSAGE } from '../../src/model/newest-records'
import { CloseCode } from '../close-codes'
import type { Violation } from '../signal-protocol'

export type { Violation } from '../signal-protocol'

export const MessageType = {
  SYNC: 0,
  AWARENESS: 1,
  AUTH: 2,
  QUERY_AWARENESS: 3,
  NEWEST_RECORDS: NEWEST_RECORDS_MESSAGE,
} as const
export const SyncStep = { STEP_1: 0, STEP_2: 1, UPDATE: 2 } as const

export type RelayMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  /** `step2` answers a step 1; `update` is a live change the client made. */
  | { type: 'sync-update'; step: 'step2' | 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array; clients: number[] }
  | { type: 'query-awareness' }
  | { type: 'unknown'; messageType: number }

export type RelayParseResult =
  { ok: true; message: RelayMessage } | { ok: false; violation: Violation }

export interface RelayProtocolLimits {
  maxAwarenessBytes: number
}

export function parseRelayMessage(
  frame: Uint8Array,
  limits: RelayProtocolLimits,
): RelayParseResult {
  const decoder = decoding.createDecoder(frame)
  try {
    const messageType = decoding.readVarUint(decoder)
    let message: RelayMessage
    switch (messageType) {
      case MessageType.SYNC:
        message = readSync(decoder)
        break
      case MessageType.AWARENESS: {
        const update = decoding.readVarUint8Array(decoder)
        if (update.byteLength > limits.maxAwarenessBytes) {
          return {
            ok: false,
            violation: {
              code: CloseCode.MALFORMED_MESSAGE,
              limit: 'maxAwarenessBytes',
              value: update.byteLength,
              max: limits.maxAwarenessBytes,
              reason: 'awareness update too large',
            },
          }
        }
        message = { type: 'awareness', update, clients: readAwarenessClients(update) }
        break
      }
      case MessageType.QUERY_AWARENESS:
        message = { type: 'query-awareness' }
        break
      default:
        // Unknown types are skipped whole, so nothing after the type byte is checked.
        return { ok: true, message: { type: 'unknown', messageType } }
    }
    // Stock clients send exactly one message per frame; bytes after it are not ours to guess at.
    if (decoding.hasContent(decoder)) {
      return malformed('frame', `${frame.byteLength - decoder.pos} trailing bytes`)
    }
    return { ok: true, message }
  } catch (error) {
    // lib0 throws on truncated input; JSON.parse on a bad presence state; both mean malformed.
    return malformed('frame', error instanceof Error ? error.message.slice(0, 80) : 'unreadable')
  }
}

function readSync(decoder: decoding.Decoder): RelayMessage {
  const step = decoding.readVarUint(decoder)
  const payload = decoding.readVarUint8Array(decoder)
  switch (step) {
    case SyncStep.STEP_1:
      checkStateVector(payload)
      return { type: 'sync-step1', stateVector: payload }
    case SyncStep.STEP_2:
      return { type: 'sync-update', step: 'step2', update: payload }
    case SyncStep.UPDATE:
      return { type: 'sync-update', step: 'update', update: payload }
    default:
      throw new Error(`unknown sync step ${step}`)
  }
}

/** A state vector is [n]{client, clock}; read it all so a broken one fails here, not later. */
function checkStateVector(stateVector: Uint8Array): void {
  const decoder = decoding.createDecoder(stateVector)
  const entries = decoding.readVarUint(decoder)
  for (let i = 0; i < entries; i++) {
    decoding.readVarUint(decoder)
    decoding.readVarUint(decoder)
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes in state vector')
}

/**
 * The client ids an awareness update sets, after checking every entry parses: y-protocols
 * applies entries one by one, so a bad entry found late would leave the earlier ones applied.
 */
function readAwarenessClients(update: Uint8Array): number[] {
  const decoder = decoding.createDecoder(update)
  const entries = decoding.readVarUint(decoder)
  const clients: number[] = []
  for (let i = 0; i < entries; i++) {
    clients.push(decoding.readVarUint(decoder))
    decoding.readVarUint(decoder) // clock
    JSON.parse(decoding.readVarString(decoder))
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes in awareness update')
  return clients
}

function malformed(limit: string, value: string): RelayParseResult {
  return {
    ok: false,
    violation: { code: CloseCode.MALFORMED_MESSAGE, limit, value, reason: 'malformed message' },
  }
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return encodeSync(SyncStep.STEP_1, stateVector)
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return encodeSync(SyncStep.STEP_2, update)
}

export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return encodeSync(SyncStep.UPDATE, update)
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.AWARENESS)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** The newest records of a room (model/newest-records.ts), sent to a newcomer that asked. */
export function encodeNewestRecordsMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.NEWEST_RECORDS)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** An awareness update for no clients: resets a stock client's watchdog and changes nothing. */
export const KEEPALIVE_MESSAGE: Uint8Array = encodeAwareness(new Uint8Array([0]))

function encodeSync(step: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.SYNC)
  encoding.writeVarUint(encoder, step)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}
