// Who may open `/relay/<roomId>`: the room id must be a Parley room id, and the `token` query
// parameter must hash to it (docs/architecture.md: room id = base64url(SHA-256(token))). No stored state is
// needed, knowing a room id gives no access, and nobody can claim a room first. Socket-free.

import { createHash, timingSafeEqual } from 'node:crypto'
import { isRoomId } from '../../src/crypto/room-keys'
import { CloseCode } from '../close-codes'
import type { Violation } from './relay-protocol'

// A Parley token is 43 characters (32 bytes, base64url). Other clients may use longer ones; past
// this a "token" is only a way to make us hash a large string.
const MAX_TOKEN_LENGTH = 512

export interface RelayRequest {
  roomId: string
  /** The `token` query parameter, or null when absent. Never logged. */
  token: string | null
  /** The `key` query parameter (operator key), or null when absent. Never logged. */
  key: string | null
  /** `newest=1`: a newcomer asking for the room's newest records first (docs/relay.md). */
  newestFirst: boolean
}

export type ParsedRelayRequest =
  { ok: true; request: RelayRequest } | { ok: false; violation: Violation }

/** Reads `/relay/<roomId>?token=…&key=…&newest=1` (the request URL as Node gives it). */
export function parseRelayRequest(url: string, pathPrefix: string): ParsedRelayRequest {
  let parsed: URL
  try {
    parsed = new URL(url, 'http://relay.invalid')
  } catch {
    return { ok: false, violation: badRoomId('unparsable URL') }
  }
  const roomId = parsed.pathname.startsWith(pathPrefix)
    ? parsed.pathname.slice(pathPrefix.length)
    : ''
  if (!isRoomId(roomId)) {
    // Only the shape is logged: a path is client-supplied text.
    return { ok: false, violation: badRoomId(`${Math.min(roomId.length, 999)} chars`) }
  }
  return {
    ok: true,
    request: {
      roomId,
      token: parsed.searchParams.get('token'),
      key: parsed.searchParams.get('key'),
      newestFirst: parsed.searchParams.get('newest') === '1',
    },
  }
}

/** base64url (no padding) of SHA-256 of the token's ASCII text: the room id it opens. */
export function roomIdForToken(token: string): string {
  return createHash('sha256').update(token, 'latin1').digest('base64url')
}

/** Null when the token opens the room; otherwise why not (the token itself is never named). */
export function checkToken(roomId: string, token: string | null): Violation | null {
  if (token === null || token === '') return badToken('missing')
  // "ASCII text": anything else cannot be a Parley token, and must not hash like one.
  if (token.length > MAX_TOKEN_LENGTH || !/^[\x20-\x7e]+$/.test(token)) {
    return badToken('not a token')
  }
  const expected = Buffer.from(roomId, 'latin1')
  const actual = Buffer.from(roomIdForToken(token), 'latin1')
  // Constant time out of habit: the room id is not secret, but the comparison costs nothing.
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    return badToken('does not hash to the room id')
  }
  return null
}

/** Whether `key` is the operator key, in constant time. */
export function operatorKeyMatches(key: string | null, operatorKey: string): boolean {
  if (key === null) return false
  const expected = createHash('sha256').update(operatorKey).digest()
  const actual = createHash('sha256').update(key).digest()
  return timingSafeEqual(expected, actual)
}

function badRoomId(value: string): Violation {
  return {
    code: CloseCode.ROOM_ID_INVALID,
    limit: 'roomId',
    value,
    reason: 'room id must be 43 base64url characters',
  }
}

function badToken(value: string): Violation {
  return { code: CloseCode.TOKEN_INVALID, limit: 'token', value, reason: 'invalid room token' }
}
