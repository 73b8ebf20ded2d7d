/**
 * Lets a new high-priority request cut a running engine step short. The HTTP
 * thread and the engine worker share two int32 values: [0] the highest
 * priority of requests posted and not yet taken by the worker, [1] the
 * priority that interrupts the step now running. The worker's decode checks
 * [0] >= [1] between graph nodes (ffi Context.setInterrupt), so a
 * low-priority step (a long prefill, or a decode over a large KV cache) stops
 * within a node instead of making an interactive request wait for all of it.
 */
const NONE = -0x80000000; // no request pending
const NEVER = 0x7fffffff; // the step cannot be interrupted

export class StepInterrupt {
  readonly flags: Int32Array;

  /** A new pair (nothing pending, not armed), or a view of one another thread created. */
  constructor(buffer?: SharedArrayBuffer) {
    this.flags = new Int32Array(buffer ?? new SharedArrayBuffer(8), 0, 2);
    if (!buffer) this.reset();
  }

  reset(): void {
    this.taken();
    this.arm(undefined);
  }

  get buffer(): SharedArrayBuffer {
    return this.flags.buffer as SharedArrayBuffer;
  }

  /**
   * HTTP side, just before posting a request: it may interrupt a step of lower
   * priority. Before, not after: the worker clears the value when it takes a
   * request, and a value raised after that would interrupt every later step.
   */
  posted(priority: number): void {
    const p = Math.max(NONE + 1, Math.min(NEVER - 1, Math.round(priority)));
    for (;;) {
      const cur = Atomics.load(this.flags, 0);
      if (p <= cur || Atomics.compareExchange(this.flags, 0, cur, p) === cur) return;
    }
  }

  /** Worker side, on taking requests from its queue: they are scheduled from now on. */
  taken(): void {
    Atomics.store(this.flags, 0, NONE);
  }

  /** Worker side, before a decode: a request of at least `priority` stops it (undefined: nothing does). */
  arm(priority: number | undefined): void {
    Atomics.store(this.flags, 1, priority === undefined ? NEVER : Math.max(NONE + 1, Math.min(NEVER, Math.round(priority))));
  }

  /** True when a pending request is at or above the armed priority. */
  get triggered(): boolean {
    return Atomics.load(this.flags, 0) >= Atomics.load(this.flags, 1);
  }
}
