// What a message envelope holds once opened: the text and facts only the sender knows
// ("sent offline"). Versioned like everything that crosses the network; parsed defensively.
import { MAX_MESSAGE_CHARS } from './records'

export const PAYLOAD_VERSION = 1

export interface MessagePayload {
  readonly text: string
  /** The sender wrote this with no peer and no relay connected (docs/architecture.md). */
  readonly sentOffline: boolean
}

export interface MemberPayload {
  readonly name: string
}

/** Display names are short labels, not prose. */
export const MAX_NAME_CHARS = 64

export class PayloadError extends Error {}

export function checkMessageText(text: string): string | null {
  if (text.trim().length === 0) return 'A message cannot be empty.'
  if (text.length > MAX_MESSAGE_CHARS)
    return `A message can be at most ${MAX_MESSAGE_CHARS} characters (this one has ${text.length}).`
  return null
}

export function encodeMessagePayload(payload: MessagePayload): Uint8Array {
  const problem = checkMessageText(payload.text)
  if (problem) throw new PayloadError(problem)
  const frame = payload.sentOffline
    ? { v: PAYLOAD_VERSION, t: payload.text, o: 1 }
    : { v: PAYLOAD_VERSION, t: payload.text }
  return new TextEncoder().encode(JSON.stringify(frame))
}

function parseFrame(bytes: Uint8Array): Record<string, unknown> {
  let frame: unknown
  try {
    frame = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new PayloadError('payload is not JSON text')
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame))
    throw new PayloadError('payload is not an object')
  const record = frame as Record<string, unknown>
  if (record.v !== PAYLOAD_VERSION) throw new PayloadError(`unknown payload version`)
  return record
}

export function parseMessagePayload(bytes: Uint8Array): MessagePayload {
  const frame = parseFrame(bytes)
  if (typeof frame.t !== 'string' || frame.t.length > MAX_MESSAGE_CHARS)
    throw new PayloadError('payload text missing or too long')
  return { text: frame.t, sentOffline: frame.o === 1 }
}

export function encodeMemberPayload(payload: MemberPayload): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ v: PAYLOAD_VERSION, n: payload.name.slice(0, MAX_NAME_CHARS) }),
  )
}

export function parseMemberPayload(bytes: Uint8Array): MemberPayload {
  const frame = parseFrame(bytes)
  if (typeof frame.n !== 'string') throw new PayloadError('member name missing')
  return { name: frame.n.slice(0, MAX_NAME_CHARS) }
}
