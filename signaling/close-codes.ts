// Every WebSocket close code the Parley server sends, in one place, so that a close seen in a
// client log or a test names its cause. Codes below 4000 are RFC 6455 / IANA codes whose
// meaning clients already know; 4400–4499 mirror HTTP 4xx and mean "the request itself is
// wrong: do not retry it unchanged" (stock y-websocket clients stop reconnecting on them).

export const CloseCode = {
  /** The server is shutting down; a client reconnects, to this instance or another. */
  GOING_AWAY: 1001,
  /** A frame exceeded the payload limit (`ws` sends this itself when `maxPayload` is hit). */
  MESSAGE_TOO_BIG: 1009,
  /** The server failed while handling a message; not the client's fault. */
  INTERNAL_ERROR: 1011,
  /**
   * The client sent faster than its rate limit, or could not keep up with what it was sent.
   * A well-behaved client may reconnect after a backoff.
   */
  TRY_AGAIN_LATER: 1013,
  /** Not JSON, not an object, or a field of the wrong type: a client bug or an attack. */
  MALFORMED_MESSAGE: 4400,
  /** One connection subscribed to more topics than the limit allows. */
  TOO_MANY_TOPICS: 4413,
  /** A topic name longer than the limit (room ids are far shorter). */
  TOPIC_TOO_LONG: 4414,
} as const

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]
