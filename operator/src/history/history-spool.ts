// The session history's spool: every batch of rows is appended to a journal file on disk before it is acknowledged
// to anyone (record() returns after the append), so a killed operator loses nothing it had recorded; files are
// removed once the database has committed what they hold. While the database is down the journal grows; past
// `maxBytes` it is compacted into one file holding the merged rows (a session is one row however many reports it
// took), and once even that takes over half the bound, new rows are refused (counted by the caller) until a write
// succeeds. Layout: <dir>/<seq>.ndjson, one JSON batch per line; a line torn by a crash is skipped at load (its
// append never returned). A compacted file is written as .tmp and renamed, so it is whole or absent.
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { emptyBatch, mergeBatch, type HistoryBatch } from './session-rows.ts';

const fileName = (seq: number): string => `${String(seq).padStart(12, '0')}.ndjson`;
const filePattern = /^(\d{12})\.ndjson$/;

export type AppendResult = 'appended' | 'full';

export class HistorySpool {
  readonly dir: string;
  private readonly maxBytes: number;
  /** seq of the file appends go to; sealed files have lower seqs */
  private seq = 1;
  private sizes = new Map<number, number>();
  private full = false;

  constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  bytes(): number {
    let total = 0;
    for (const n of this.sizes.values()) total += n;
    return total;
  }

  /** What earlier processes left, merged (replaying it is harmless: the upserts are idempotent). */
  load(): HistoryBatch {
    mkdirSync(this.dir, { recursive: true });
    let batch = emptyBatch();
    const seqs: number[] = [];
    for (const f of readdirSync(this.dir)) {
      const m = filePattern.exec(f);
      if (m) seqs.push(Number(m[1]));
      else if (f.endsWith('.tmp')) rmSync(path.join(this.dir, f), { force: true });
    }
    seqs.sort((a, b) => a - b);
    for (const seq of seqs) {
      const file = path.join(this.dir, fileName(seq));
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const parsed = parseLine(line);
        if (parsed) batch = mergeBatch(batch, parsed);
      }
      this.sizes.set(seq, statSync(file).size);
    }
    this.seq = (seqs.at(-1) ?? 0) + 1;
    return batch;
  }

  /**
   * Appends one batch to the current file. `pending` (everything not committed, this batch included) is what a
   * compaction writes when the journal is over its bound; 'full' when the batch was not kept.
   */
  append(batch: HistoryBatch, pending: () => HistoryBatch): AppendResult {
    const line = `${JSON.stringify(batch)}\n`;
    const size = Buffer.byteLength(line);
    if (this.full) return 'full';
    if (this.bytes() + size > this.maxBytes) {
      // The compaction holds this batch already; once even the merged rows fill half the bound, the next are refused.
      this.compact(pending());
      this.full = this.bytes() > this.maxBytes / 2;
      return 'appended';
    }
    appendFileSync(path.join(this.dir, fileName(this.seq)), line);
    this.sizes.set(this.seq, (this.sizes.get(this.seq) ?? 0) + size);
    return 'appended';
  }

  /** Closes the current file: returns the seq up to which a write of everything pending now covers the journal. */
  seal(): number {
    if (!this.sizes.has(this.seq)) return this.seq - 1;
    return this.seq++;
  }

  /** The database has committed everything in files up to `upTo`: remove them. */
  release(upTo: number): void {
    for (const seq of [...this.sizes.keys()]) {
      if (seq > upTo) continue;
      rmSync(path.join(this.dir, fileName(seq)), { force: true });
      this.sizes.delete(seq);
    }
    this.full = false;
  }

  /** Replaces every file with one holding `all` (the merge of everything not committed). */
  private compact(all: HistoryBatch): void {
    const seq = this.seq + 1;
    const target = path.join(this.dir, fileName(seq));
    const text = `${JSON.stringify(all)}\n`;
    writeFileSync(`${target}.tmp`, text);
    renameSync(`${target}.tmp`, target);
    for (const old of [...this.sizes.keys()]) {
      rmSync(path.join(this.dir, fileName(old)), { force: true });
      this.sizes.delete(old);
    }
    this.sizes.set(seq, Buffer.byteLength(text));
    this.seq = seq + 1;
  }
}

function parseLine(line: string): HistoryBatch | undefined {
  if (line.trim() === '') return undefined;
  try {
    const v = JSON.parse(line) as Partial<HistoryBatch>;
    if (typeof v.sessions !== 'object' || typeof v.minutes !== 'object' || !v.sessions || !v.minutes) return undefined;
    return { sessions: v.sessions, minutes: v.minutes };
  } catch {
    return undefined; // torn by a crash mid-append: that append never returned
  }
}
