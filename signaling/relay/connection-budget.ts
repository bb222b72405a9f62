// What one connection may send (docs/relay.md, "Budgets"): bytes per second (every frame counts
// its length), Yjs updates per second (frames that carry structs or deletions), sync requests
// per second (each answered with the room's missing state), and — only to stop a flood of
// frames that carry nothing — frames per second. A refusal names the limit and the average rate
// the connection reached.

import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import { TokenBucket } from '../token-bucket'
import type { Violation } from './relay-protocol'

export type BudgetLimits = Pick<
  RelayLimits,
  | 'messageBurst'
  | 'messagesPerSecond'
  | 'updateBurst'
  | 'updatesPerSecond'
  | 'byteBurst'
  | 'bytesPerSecond'
  | 'syncRequestBurst'
  | 'syncRequestsPerSecond'
>

/** One budget: a token bucket and what it counted so far, for the refusal's rate. */
class Meter {
  private readonly bucket: TokenBucket
  private total = 0

  constructor(
    readonly limit: string,
    burst: number,
    readonly perSecond: number,
    now: () => number,
  ) {
    this.bucket = new TokenBucket(burst, perSecond, now)
  }

  take(amount: number): boolean {
    this.total += amount
    return this.bucket.take(amount)
  }

  get spent(): number {
    return this.total
  }
}

export class ConnectionBudget {
  private readonly frames: Meter
  private readonly bytes: Meter
  private readonly updates: Meter
  private readonly syncRequests: Meter
  private readonly connectedAt: number

  constructor(
    limits: BudgetLimits,
    private readonly now: () => number,
  ) {
    this.connectedAt = now()
    this.frames = new Meter('messagesPerSecond', limits.messageBurst, limits.messagesPerSecond, now)
    this.bytes = new Meter('bytesPerSecond', limits.byteBurst, limits.bytesPerSecond, now)
    this.updates = new Meter('updatesPerSecond', limits.updateBurst, limits.updatesPerSecond, now)
    this.syncRequests = new Meter(
      'syncRequestsPerSecond',
      limits.syncRequestBurst,
      limits.syncRequestsPerSecond,
      now,
    )
  }

  /** Spends one frame of `bytes`; a violation when the connection is over either rate. */
  takeFrame(bytes: number): Violation | null {
    return this.spend(this.frames, 1) ?? this.spend(this.bytes, bytes)
  }

  /** Spends one Yjs update (a frame that carries structs or deletions). */
  takeUpdate(): Violation | null {
    return this.spend(this.updates, 1)
  }

  /** Spends one sync request. */
  takeSyncRequest(): Violation | null {
    return this.spend(this.syncRequests, 1)
  }

  private spend(meter: Meter, amount: number): Violation | null {
    if (meter.take(amount)) return null
    const seconds = Math.max(0.001, (this.now() - this.connectedAt) / 1000)
    return {
      code: CloseCode.TRY_AGAIN_LATER,
      limit: meter.limit,
      value: Math.round(meter.spent / seconds),
      max: meter.perSecond,
      reason: 'message rate limit exceeded',
    }
  }
}
