import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSpool } from './spool.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lso-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const meta = (sequence: number, completedAt = 1000 + sequence) => ({
  session: 's1',
  track: '720p',
  sequence,
  file: `seg_${sequence}.ts`,
  duration: 2,
  discontinuity: false,
  completedAt,
});

describe('spool', () => {
  it('keeps added segments across a reload (a restart), oldest first, and survives the source being deleted', async () => {
    const spool = createSpool(path.join(dir, 'spool'), 1_000);
    await spool.load();
    for (const n of [1, 0]) {
      const src = path.join(dir, `src${n}.ts`);
      await writeFile(src, 'x'.repeat(100));
      expect((await spool.add(src, meta(n))).result).toBe('added');
      await rm(src); // ffmpeg's delete_segments
    }
    expect(spool.bytes()).toBe(200);
    const again = createSpool(path.join(dir, 'spool'), 1_000);
    const loaded = await again.load();
    expect(loaded.map((e) => [e.sequence, e.bytes])).toEqual([
      [0, 100],
      [1, 100],
    ]);
    expect(again.bytes()).toBe(200);
    await again.remove(loaded[0]!);
    expect(again.bytes()).toBe(100);
    expect((await createSpool(path.join(dir, 'spool'), 1_000).load()).map((e) => e.sequence)).toEqual([1]);
  });

  it('drops what does not fit, reports a vanished or empty source, and cleans interrupted entries at load', async () => {
    const spool = createSpool(path.join(dir, 'spool'), 250);
    await spool.load();
    const src = path.join(dir, 'src.ts');
    await writeFile(src, 'x'.repeat(100));
    expect((await spool.add(src, meta(0))).result).toBe('added');
    expect((await spool.add(src, meta(1))).result).toBe('added');
    expect((await spool.add(src, meta(2))).result).toBe('dropped');
    expect((await spool.add(path.join(dir, 'gone.ts'), meta(3))).result).toBe('missing');
    await writeFile(path.join(dir, 'empty.ts'), '');
    expect((await spool.add(path.join(dir, 'empty.ts'), meta(4))).result).toBe('empty');
    const trackDir = path.join(dir, 'spool', 's1', '720p');
    await writeFile(path.join(trackDir, '0000000009.ts.tmp'), 'partial');
    await writeFile(path.join(trackDir, '0000000008.json'), '{}');
    const loaded = await createSpool(path.join(dir, 'spool'), 250).load();
    expect(loaded.map((e) => e.sequence)).toEqual([0, 1]);
    expect((await readdir(trackDir)).sort()).toEqual([
      '0000000000.json',
      '0000000000.ts',
      '0000000001.json',
      '0000000001.ts',
    ]);
  });

  it('refuses names that could escape the spool', async () => {
    const spool = createSpool(path.join(dir, 'spool'), 1_000);
    await expect(spool.add('/etc/hostname', { ...meta(0), session: '../x' })).rejects.toThrow(/unsafe/);
  });
});
