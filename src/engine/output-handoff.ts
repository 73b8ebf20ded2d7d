/**
 * Hands the CPU to the HTTP thread when a request's first text is ready.
 *
 * On a machine with as many cores as llama.cpp threads, the engine worker and
 * llama.cpp's pool threads fill every core: right after the step that made a
 * first token, the worker starts the next step and the HTTP thread, woken by
 * the output message, waits for the scheduler to preempt one of them (a tick,
 * 3-4 ms here; measured: the post-to-delivery time of first outputs was
 * 0.05 ms at the median and 3-4 ms in the slowest tenth). So after posting an
 * urgent output (first token, first text, end) the worker sleeps until the
 * HTTP thread says it has delivered that message, at most `maxWaitMs`.
 *
 * One shared int32: the number of urgent messages the HTTP thread delivered.
 */
export class OutputHandoff {
  private readonly delivered: Int32Array;

  /** A new counter, or a view of one that another thread created. */
  constructor(buffer?: SharedArrayBuffer) {
    this.delivered = new Int32Array(buffer ?? new SharedArrayBuffer(4), 0, 1);
  }

  get buffer(): SharedArrayBuffer {
    return this.delivered.buffer as SharedArrayBuffer;
  }

  /** Worker side, just before posting an urgent message: the value to wait on. */
  mark(): number {
    return Atomics.load(this.delivered, 0);
  }

  /** Worker side, after posting: sleeps until the HTTP thread delivered it (or `maxWaitMs`). True when it did. */
  awaitDelivery(marked: number, maxWaitMs: number): boolean {
    return Atomics.wait(this.delivered, 0, marked, maxWaitMs) !== "timed-out";
  }

  /** HTTP side, once an urgent message's outputs are delivered. */
  deliveredOne(): void {
    Atomics.add(this.delivered, 0, 1);
    Atomics.notify(this.delivered, 0);
  }
}
