/**
 * A per-minute token bucket: `capacity` tokens, refilled continuously at
 * capacity/60 s. Tokens may go negative (debt) when a lease settles for more
 * than it reserved; the debt is paid back by refill before anything else passes.
 */
export const WINDOW_MS = 60_000;

export class TokenBucket {
  tokens: number;
  private last: number;

  constructor(public capacity: number, now: number) {
    this.tokens = capacity;
    this.last = now;
  }

  refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.capacity) / WINDOW_MS);
      this.last = now;
    }
  }

  /**
   * Change the capacity (limits were reloaded). What was used in the current
   * window stays used: 1 of 1 used, raised to 100 → 99 left; lowering never
   * creates new debt.
   */
  setCapacity(capacity: number, now: number): void {
    if (capacity === this.capacity) return;
    this.refill(now);
    const before = this.tokens;
    this.tokens = Math.min(capacity, capacity - (this.capacity - before));
    if (this.tokens < 0 && before >= 0) this.tokens = 0;
    this.capacity = capacity;
  }

  /** Milliseconds until `amount` tokens are available (0 when they already are). */
  msUntil(amount: number): number {
    const missing = amount - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * WINDOW_MS) / this.capacity);
  }

  /** Milliseconds until the bucket is full again. */
  msUntilFull(): number {
    return this.msUntil(this.capacity);
  }

  /** A full bucket is indistinguishable from a fresh one and may be dropped. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}
