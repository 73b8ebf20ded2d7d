/**
 * A single-consumer async queue of one request's outputs. The worker client
 * pushes; the route handler iterates. Ends on a finish reason or an error.
 */
import type { RequestOutput } from "./messages";

export class OutputStream implements AsyncIterable<RequestOutput> {
  private readonly items: RequestOutput[] = [];
  private waiter: (() => void) | undefined;
  private done = false;
  private error: Error | undefined;

  push(out: RequestOutput): void {
    if (this.done) return;
    this.items.push(out);
    if (out.finishReason) this.done = true;
    this.wake();
  }

  fail(error: Error): void {
    if (this.done) return;
    this.error = error;
    this.done = true;
    this.wake();
  }

  get finished(): boolean {
    return this.done;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RequestOutput> {
    while (true) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.error) throw this.error;
      if (this.done) return;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}
