// Every WebSocket close code the Parley server sends, in one place, so that a close seen in a
// client log or a test names its cause. Codes below 4000 are RFC 6455 / IANA codes whose
// meaning clients already know; 4400–4499 mirror HTTP 4xx and mean "the request itself is
// wrong: do not retry it unchanged" (stock y-websocket clients stop reconnecting on them), so
// the relay uses them only for permanent refusals and 1011–1013 for everything transient.

export const CloseCode = {
  /** The server is shutting down; a client reconnects, to this instance or another. */
  GOING_AWAY: 1001,
  /** A frame exceeded the payload limit (`ws` sends this itself when `maxPayload` is hit). */
  MESSAGE_TOO_BIG: 1009,
  /** The server failed while handling a message; not the client's fault. */
  INTERNAL_ERROR: 1011,
  /**
   * Relay: the room was reset (its store failed, or an update broke it in memory) and reloads
   * from storage on the next connection. Reconnect at once and sync again.
   */
  SERVICE_RESTART: 1012,
  /**
   * The client sent faster than its rate limit, or could not keep up with what it was sent.
   * A well-behaved client may reconnect after a backoff.
   */
  TRY_AGAIN_LATER: 1013,
  /**
   * Not JSON, not an object, or a field of the wrong type (signaling); not a y-protocols
   * message or not a well-formed Yjs update or awareness update (relay): a client bug or an
   * attack.
   */
  MALFORMED_MESSAGE: 4400,
  /** Relay: the `token` query parameter is missing or does not hash to the room id. */
  TOKEN_INVALID: 4401,
  /** Relay: the room does not exist yet and creating one needs the operator's `key`. */
  OPERATOR_KEY_REQUIRED: 4403,
  /** Relay: `/relay/<roomId>` where the id is not 43 base64url characters; no such room. */
  ROOM_ID_INVALID: 4404,
  /**
   * Relay: the room holds as many bytes as the relay stores for one room; the update was not
   * applied. (HTTP 413 is taken by TOO_MANY_TOPICS; 409 Conflict: the room's state refuses it.)
   */
  ROOM_TOO_LARGE: 4409,
  /**
   * Relay: integrating the update would take more work than one update may (crafted
   * concurrent inserts make Yjs' integration quadratic); what integrated before it stays.
   */
  UPDATE_TOO_COSTLY: 4422,
  /** One connection subscribed to more topics than the limit allows. */
  TOO_MANY_TOPICS: 4413,
  /** A topic name longer than the limit (room ids are far shorter). */
  TOPIC_TOO_LONG: 4414,
} as const

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]
