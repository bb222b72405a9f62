// The relay's storage contract: an append-only log of Yjs updates per room, compacted now and
// then into one snapshot. The relay acknowledges an update ("saved to relay", docs/architecture.md) only
// after `append` resolves, so `append` resolves only once the update is durable by the store's
// own policy (fsync for the embedded store; Redis' AOF policy in Redis mode).
//
// Room ids reach a store already validated (43 base64url characters); a store still never uses
// one as a path or pattern without its own escaping.

/** Position in a room's log; opaque to the relay, ordered within one room by the store. */
export type LogCursor = string

export interface StoredRoom {
  /** The snapshot (if the room was compacted) followed by every update appended after it. */
  updates: Uint8Array[]
  /** Position of the last entry in `updates`; `null` when the room has never been stored. */
  cursor: LogCursor | null
  /** Sum of the byte lengths of `updates`, for the room-size limit. */
  bytes: number
}

/** Updates other instances appended to a room the caller follows (shared stores only). */
export type RemoteAppendListener = (updates: Uint8Array[], cursor: LogCursor) => void

export interface RoomStore {
  /** Which store this is, for logs and metrics: `level`, `redis`. */
  readonly kind: string
  /** Whether this room has ever been stored (the operator key guards creating rooms). */
  exists(roomId: string): Promise<boolean>
  load(roomId: string): Promise<StoredRoom>
  /**
   * Appends updates (in order) and resolves with the cursor of the last one once all are
   * durable. Rejects if they are not stored; the caller then must not acknowledge them.
   */
  append(roomId: string, updates: Uint8Array[]): Promise<LogCursor>
  /**
   * Replaces every entry up to and including `through` with `snapshot` (which must contain
   * them). Entries appended after `through` stay. Idempotent; safe to race with `append`.
   */
  compact(roomId: string, snapshot: Uint8Array, through: LogCursor): Promise<void>
  /**
   * Shared stores (Redis) only: call `listener` with updates appended to the room by other
   * instances after `after`. Returns a function that stops following. Stores that only one
   * process writes (the embedded one) leave this undefined.
   */
  follow?(roomId: string, after: LogCursor | null, listener: RemoteAppendListener): () => void
  /** Finishes pending writes and releases files and connections. Idempotent. */
  close(): Promise<void>
}
