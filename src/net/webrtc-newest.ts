// Newest records first over WebRTC (docs/webrtc.md, "Newest records first"): a peer that
// holds the room answers a newcomer's sync step 1 with the room's newest records (the small
// document of model/newest-records.ts, as the relay sends it) before its sync step 2, through
// the y-webrtc patch's `prefaceSyncStep2` hook; the newcomer reads them through its
// `onUnknownMessage` hook with the relay path's checks (newest-first.ts).
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { NEWEST_MESSAGES, NEWEST_RECORDS_MAX_BYTES, NEWEST_RECORDS_MESSAGE } from '../model'

/** The y-webrtc peer message type that carries newest records: the relay's type, far above
 * y-webrtc's own (0–5, patches/README.md). */
export const NEWEST_PEER_MESSAGE = NEWEST_RECORDS_MESSAGE

/**
 * A peer whose state vector lacks fewer of our document's items than this gets only the sync
 * step 2: its answer is then small and fast anyway. Each record is one item, so a newcomer to
 * a room of more than a few pages of messages lacks far more.
 */
export const NEWCOMER_MIN_LACKING = NEWEST_MESSAGES * 2

/** Largest state vector read here: one entry per client that ever wrote (a few bytes each);
 * the inbound guard does not bound sync step 1. */
const MAX_STATE_VECTOR_BYTES = 64 * 1024

/** How many of `doc`'s items a peer with this state vector lacks; -1 if it does not decode. */
export function itemsLacking(doc: Y.Doc, stateVector: Uint8Array): number {
  if (stateVector.byteLength > MAX_STATE_VECTOR_BYTES) return -1
  const theirs = new Map<number, number>()
  try {
    const decoder = decoding.createDecoder(stateVector)
    for (let n = decoding.readVarUint(decoder); n > 0; n--) {
      const client = decoding.readVarUint(decoder)
      theirs.set(client, decoding.readVarUint(decoder))
    }
    if (decoding.hasContent(decoder)) return -1
  } catch {
    return -1
  }
  let lacking = 0
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc)))
    lacking += Math.max(0, clock - (theirs.get(client) ?? 0))
  return lacking
}

/** The peer message that carries newest records: type, then the update. */
export function encodeNewestPeerMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, NEWEST_PEER_MESSAGE)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/**
 * The patch's `prefaceSyncStep2`: the newest records for a peer that lacks most of the room,
 * else null (so a peer with an empty document, or one the newcomer already has, sends
 * nothing but its sync step 2). `newest` encodes them (null: nothing to offer right now).
 */
export function newestPreface(
  doc: Y.Doc,
  stateVector: Uint8Array,
  newest: () => Uint8Array | null,
): Uint8Array | null {
  if (itemsLacking(doc, stateVector) < NEWCOMER_MIN_LACKING) return null
  const update = newest()
  if (!update || update.byteLength > NEWEST_RECORDS_MAX_BYTES) return null
  return encodeNewestPeerMessage(update)
}
