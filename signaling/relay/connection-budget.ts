// What one connection may send (docs/relay.md, "Budgets"): frames per second, and sync requests
// per second (each answered with the room's missing state). A refusal names the limit and the
// average rate the connection reached.

import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import { TokenBucket } from '../token-bucket'
import type { Violation } from './relay-protocol'

export type BudgetLimits = Pick<
  RelayLimits,
  'messageBurst' | 'messagesPerSecond' | 'syncRequestBurst' | 'syncRequestsPerSecond'
>

export class ConnectionBudget {
  private readonly frames: TokenBucket
  private readonly syncRequests: TokenBucket
  private readonly connectedAt: number
  private framesIn = 0
  private syncRequestsIn = 0

  constructor(
    private readonly limits: BudgetLimits,
    private readonly now: () => number,
  ) {
    this.connectedAt = now()
    this.frames = new TokenBucket(limits.messageBurst, limits.messagesPerSecond, now)
    this.syncRequests = new TokenBucket(limits.syncRequestBurst, limits.syncRequestsPerSecond, now)
  }

  /** Spends one frame; a violation when the connection is over its rate. */
  takeFrame(): Violation | null {
    this.framesIn++
    if (this.frames.take()) return null
    return this.rateViolation('messagesPerSecond', this.framesIn, this.limits.messagesPerSecond)
  }

  /** Spends one sync request. */
  takeSyncRequest(): Violation | null {
    this.syncRequestsIn++
    if (this.syncRequests.take()) return null
    return this.rateViolation(
      'syncRequestsPerSecond',
      this.syncRequestsIn,
      this.limits.syncRequestsPerSecond,
    )
  }

  private rateViolation(limit: string, count: number, max: number): Violation {
    const seconds = Math.max(0.001, (this.now() - this.connectedAt) / 1000)
    return {
      code: CloseCode.TRY_AGAIN_LATER,
      limit,
      value: Math.round(count / seconds),
      max,
      reason: 'message rate limit exceeded',
    }
  }
}
