// The y-webrtc signaling protocol: turns one untrusted text frame into a typed message or a
// violation naming the broken rule. No sockets, no state: the hub decides what to do with it.
//
// PROTOCOL (JSON text frames; binary frames holding UTF-8 JSON are read the same way, as the
// stock server does):
//   client → server  {type:'subscribe', topics: string[]}    join topics (y-webrtc room names)
//                    {type:'unsubscribe', topics: string[]}  leave topics
//                    {type:'publish', topic: string, ...}    relay to the topic's subscribers
//                    {type:'ping'}                           keep-alive
//   server → client  the publish object as sent, plus `clients`: the topic's subscriber count;
//                    delivered to every subscriber of `topic`, the sender included if subscribed.
//                    {type:'pong'} in answer to a ping.
// Unknown `type` strings are ignored, as the stock server does, so newer clients still work.
// Stock y-webrtc 10.3 puts the (encrypted, base64) signal in `data`; the server never reads it.

import { CloseCode } from './close-codes'
import type { SignalingLimits } from './limits'

export type SignalMessage =
  | { type: 'subscribe'; topics: string[] }
  | { type: 'unsubscribe'; topics: string[] }
  /** `text`: the frame as received, a JSON object with at least `type` and `topic`. */
  | { type: 'publish'; topic: string; text: string }
  | { type: 'ping' }
  | { type: 'unknown'; name: string }

/** A rule an input broke: which limit, the offending value (a size or a type, never content). */
export interface Violation {
  code: CloseCode
  limit: string
  value: string | number
  max?: number
  /** Sent as the close reason: short, fixed text. */
  reason: string
}

export type ParseResult = { ok: true; message: SignalMessage } | { ok: false; violation: Violation }

export type TopicLimits = Pick<SignalingLimits, 'maxTopicsPerConnection' | 'maxTopicLength'>

export function parseSignalMessage(text: string, limits: TopicLimits): ParseResult {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // Also catches RangeError from absurdly deep nesting.
    return malformed('json', `invalid JSON (${text.length} chars)`, 'invalid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return malformed('message', describeType(parsed), 'message must be a JSON object')
  }
  const fields = parsed as Record<string, unknown>
  const type = fields.type
  if (typeof type !== 'string') {
    return malformed('type', describeType(type), 'type must be a string')
  }
  switch (type) {
    case 'subscribe':
    case 'unsubscribe': {
      const topics = parseTopicList(fields.topics, limits)
      return topics.ok ? { ok: true, message: { type, topics: topics.topics } } : topics
    }
    case 'publish': {
      const topic = checkTopic(fields.topic, 'topic', limits)
      return topic
        ? { ok: false, violation: topic }
        : ok({ type, topic: fields.topic as string, text })
    }
    case 'ping':
      return ok({ type })
    default:
      return ok({ type: 'unknown', name: type })
  }
}

function parseTopicList(
  value: unknown,
  limits: TopicLimits,
): { ok: true; topics: string[] } | { ok: false; violation: Violation } {
  if (!Array.isArray(value)) {
    return malformed('topics', describeType(value), 'topics must be an array of strings')
  }
  // Checked before the elements so a huge array costs nothing to refuse.
  if (value.length > limits.maxTopicsPerConnection) {
    return tooManyTopics(value.length, limits.maxTopicsPerConnection)
  }
  for (const topic of value) {
    const violation = checkTopic(topic, 'topics[]', limits)
    if (violation) return { ok: false, violation }
  }
  return { ok: true, topics: value as string[] }
}

function checkTopic(topic: unknown, field: string, limits: TopicLimits): Violation | undefined {
  if (typeof topic !== 'string' || topic === '') {
    const value = topic === '' ? 'empty string' : describeType(topic)
    return {
      code: CloseCode.MALFORMED_MESSAGE,
      limit: field,
      value,
      reason: 'topic must be a non-empty string',
    }
  }
  if (topic.length > limits.maxTopicLength) {
    return {
      code: CloseCode.TOPIC_TOO_LONG,
      limit: 'maxTopicLength',
      value: topic.length,
      max: limits.maxTopicLength,
      reason: 'topic too long',
    }
  }
  return undefined
}

export function tooManyTopics(count: number, max: number): { ok: false; violation: Violation } {
  return {
    ok: false,
    violation: {
      code: CloseCode.TOO_MANY_TOPICS,
      limit: 'maxTopicsPerConnection',
      value: count,
      max,
      reason: 'too many topics',
    },
  }
}

function ok(message: SignalMessage): ParseResult {
  return { ok: true, message }
}

function malformed(
  limit: string,
  value: string,
  reason: string,
): { ok: false; violation: Violation } {
  return { ok: false, violation: { code: CloseCode.MALFORMED_MESSAGE, limit, value, reason } }
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}
