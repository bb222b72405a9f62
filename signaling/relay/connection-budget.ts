// What one connection may send (docs/relay.md, "Budgets"): bytes per second (every frame counts
// its length), Yjs updates per second (frames that carry structs or deletions), integration
// work per update and per second, sync requests per second (each answered with the room's
// missing state), and — only to stop a flood of frames that carry nothing — frames per second. A refusal names the limit and the average rate
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
  | 'maxIntegrationStepsPerUpdate'
  | 'integrationStepBurst'
  | 'integrationStepsPerSecond'
>

/** One budget: a token bucket and what it counted so far, for the refusal's rate. */
class Meter {
  readonly bucket: TokenBucket
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

/** How much integration work (conflict-scan steps, patches/README.md) an update may cause. */
export interface WorkAllowance {
  /** Steps this update may take; less than `perUpdate` when the connection's budget is low. */
  steps: number
  perUpdate: number
  /** Charges what the update took to its connection. */
  spend(steps: number): void
}

export class ConnectionBudget {
  private readonly frames: Meter
  private readonly bytes: Meter
  private readonly updates: Meter
  private readonly syncRequests: Meter
  private readonly work: Meter
  private readonly connectedAt: number

  constructor(
    private readonly limits: BudgetLimits,
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
    this.work = new Meter(
      'integrationStepsPerSecond',
      limits.integrationStepBurst,
      limits.integrationStepsPerSecond,
      now,
    )
  }

  /** Conflict-scan steps the next update may take: its own bound, or what the budget has left. */
  workAllowance(): WorkAllowance {
    const perUpdate = this.limits.maxIntegrationStepsPerUpdate
    const left = Math.floor(this.work.bucket.available())
    return {
      steps: Math.max(0, Math.min(perUpdate, left)),
      perUpdate,
      spend: (steps) => this.work.bucket.spend(steps),
    }
  }

  /** Why an update that ran out of work was refused. */
  workViolation(steps: number, perUpdate: boolean): Violation {
    if (perUpdate) {
      return {
        code: CloseCode.UPDATE_TOO_COSTLY,
        limit: 'maxIntegrationStepsPerUpdate',
        value: steps,
        max: this.limits.maxIntegrationStepsPerUpdate,
        reason: 'update too costly to integrate',
      }
    }
    const seconds = Math.max(0.001, (this.now() - this.connectedAt) / 1000)
    return {
      code: CloseCode.TRY_AGAIN_LATER,
      limit: 'integrationStepsPerSecond',
      value: Math.round(steps / seconds),
      max: this.limits.integrationStepsPerSecond,
      reason: 'message rate limit exceeded',
    }
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
