/** A binary min-heap ordered by `less`; used to pop least-recently-used leaves. */
export class MinHeap<T> {
  private readonly items: T[];

  constructor(private readonly less: (a: T, b: T) => boolean, items: Iterable<T> = []) {
    this.items = [...items];
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(item, items[p])) break;
      items[i] = items[p];
      i = p;
    }
    items[i] = item;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(items[c + 1], items[c])) c++;
      if (!this.less(items[c], item)) break;
      items[i] = items[c];
      i = c;
    }
    items[i] = item;
  }
}
