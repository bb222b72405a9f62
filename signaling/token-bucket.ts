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

  /**
   * Takes `amount` tokens (one by default); false means the caller is over its rate. A take
   * larger than what is left is refused whole, however large the bucket.
   */
  take(amount = 1): boolean {
    if (this.available() < amount) return false
    this.tokens -= amount
    return true
  }

  /** Tokens there are now. */
  available(): number {
    const now = this.now()
    const elapsedSeconds = Math.max(0, now - this.refilledAt) / 1000
    this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.refillPerSecond)
    this.refilledAt = now
    return this.tokens
  }

  /** Spends `amount` whatever is left (work already done); the bucket may go below zero. */
  spend(amount: number): void {
    this.available()
    this.tokens -= amount
  }
}
