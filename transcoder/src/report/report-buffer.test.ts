import { describe, expect, it } from 'vitest';
import { ReportBuffer } from './report-buffer.ts';

interface E {
  id: number;
  lifecycle: boolean;
}
const hb = (id: number): E => ({ id, lifecycle: false });
const lc = (id: number): E => ({ id, lifecycle: true });
const ids = (entries: readonly E[]): number[] => entries.map((e) => e.id);

describe('ReportBuffer', () => {
  it('keeps order and hands out batches from the front', () => {
    const b = new ReportBuffer<E>(10);
    for (let i = 1; i <= 5; i++) b.push(i % 2 ? lc(i) : hb(i));
    expect(ids(b.takeFront(2))).toEqual([1, 2]);
    expect(ids(b.toArray())).toEqual([3, 4, 5]);
  });

  it('drops the oldest heartbeat first when full', () => {
    const b = new ReportBuffer<E>(3);
    b.push(lc(1));
    b.push(hb(2));
    b.push(hb(3));
    expect(ids(b.push(lc(4)))).toEqual([2]);
    expect(ids(b.toArray())).toEqual([1, 3, 4]);
  });

  it('drops a new heartbeat rather than a buffered lifecycle event', () => {
    const b = new ReportBuffer<E>(2);
    b.push(lc(1));
    b.push(lc(2));
    expect(ids(b.push(hb(3)))).toEqual([3]);
    expect(ids(b.toArray())).toEqual([1, 2]);
  });

  it('drops the oldest lifecycle event only when nothing else is left', () => {
    const b = new ReportBuffer<E>(2);
    b.push(lc(1));
    b.push(lc(2));
    expect(ids(b.push(lc(3)))).toEqual([1]);
    expect(ids(b.toArray())).toEqual([2, 3]);
  });

  it('puts an undelivered batch back in front, in order, trimming to the bound', () => {
    const b = new ReportBuffer<E>(4);
    for (let i = 1; i <= 4; i++) b.push(lc(i));
    const batch = b.takeFront(3);
    b.push(hb(5));
    b.push(lc(6));
    expect(ids(b.returnFront(batch))).toEqual([5, 1]);
    expect(ids(b.toArray())).toEqual([2, 3, 4, 6]);
  });

  it('stays correct across many pushes and takes (lazy compaction)', () => {
    const b = new ReportBuffer<E>(5_000);
    let next = 1;
    let expected = 1;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) b.push(lc(next++));
      for (const e of b.takeFront(250)) expect(e.id).toBe(expected++);
    }
    expect(b.length).toBe(50 * 50);
  });

  it('rejects a silly bound', () => {
    expect(() => new ReportBuffer<E>(0)).toThrow(RangeError);
  });
});
