// A token bucket: allows bursts up to `capacity`, then `refillPerSecond` on average. One per
// connection; the clock is injected so tests and callers control time.

export class TokenBucket {
  private tokens: number
  private refilledAt: number

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity
    this.refilledAt = now()
  }

  /** Takes one token; false means the caller is over its rate. */
  take(): boolean {
    const now = this.now()
    const elapsedSeconds = Math.max(0, now - this.refilledAt) / 1000
    this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.refillPerSecond)
    this.refilledAt = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
