// The reporter's bounded in-memory queue (pure; no I/O). Reports wait here, in order, while Redis is unreachable.
// When full, the oldest heartbeat goes first (a newer heartbeat supersedes it); a lifecycle event is dropped only when
// the buffer holds nothing but lifecycle events, and then the oldest one goes: losing a report is always counted.

export interface Droppable {
  lifecycle: boolean;
}

export class ReportBuffer<T extends Droppable> {
  readonly max: number;
  private items: T[] = [];
  private head = 0; // items before head are consumed; compacted lazily so takeFront stays O(batch)

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`buffer bound must be a positive integer, got ${max}`);
    this.max = max;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  // Appends an entry; returns the entries dropped to stay within the bound (possibly the new entry itself).
  push(entry: T): T[] {
    if (this.length < this.max) {
      this.items.push(entry);
      return [];
    }
    const heartbeat = this.indexOfOldest((e) => !e.lifecycle);
    if (heartbeat >= 0) {
      const [dropped] = this.items.splice(heartbeat, 1);
      this.items.push(entry);
      return [dropped!];
    }
    // Only lifecycle events are buffered: a new heartbeat is worth less than any of them.
    if (!entry.lifecycle) return [entry];
    const oldest = this.items[this.head]!;
    this.head++;
    this.items.push(entry);
    this.compact();
    return [oldest];
  }

  // Removes and returns up to n entries from the front (oldest first), e.g. a batch for one Redis pipeline.
  takeFront(n: number): T[] {
    const batch = this.items.slice(this.head, this.head + n);
    this.head += batch.length;
    this.compact();
    return batch;
  }

  // Puts back, at the front and in their order, entries taken but not delivered. Anything beyond the bound is
  // dropped with the same policy and returned.
  returnFront(entries: readonly T[]): T[] {
    if (entries.length === 0) return [];
    this.items = [...entries, ...this.items.slice(this.head)];
    this.head = 0;
    const dropped: T[] = [];
    while (this.length > this.max) {
      const heartbeat = this.indexOfOldest((e) => !e.lifecycle);
      const index = heartbeat >= 0 ? heartbeat : this.head;
      dropped.push(this.items.splice(index, 1)[0]!);
    }
    return dropped;
  }

  toArray(): T[] {
    return this.items.slice(this.head);
  }

  private indexOfOldest(predicate: (entry: T) => boolean): number {
    for (let i = this.head; i < this.items.length; i++) if (predicate(this.items[i]!)) return i;
    return -1;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
