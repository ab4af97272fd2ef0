import { mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileCache, type CachedFile } from './file-cache.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const get = async (cache: FileCache, path: string, revalidateMs: number): Promise<CachedFile | undefined> =>
  await cache.get(path, revalidateMs);

describe('FileCache', () => {
  it('serves from memory within the revalidation interval, then notices changes', async () => {
    let now = 0;
    const cache = new FileCache({ now: () => now });
    const path = join(dir, 'index.m3u8');
    await writeFile(path, 'one');
    expect((await get(cache, path, 100))?.body?.toString()).toBe('one');
    await writeFile(path, 'two!');
    now = 50;
    expect((await get(cache, path, 100))?.body?.toString()).toBe('one');
    now = 150;
    const fresh = await get(cache, path, 100);
    expect(fresh?.body?.toString()).toBe('two!');
    expect(fresh?.etag).toMatch(/^"[0-9a-f]+-4"$/);
  });

  it('serves a transformed body, sized and tagged as served, and keeps it while the file on disk is unchanged', async () => {
    let now = 0;
    let transforms = 0;
    const cache = new FileCache({
      now: () => now,
      transform: (_path, body) => (transforms++, Buffer.concat([body, Buffer.from('+tag')])),
    });
    const path = join(dir, 'transformed.m3u8');
    await writeFile(path, 'list');
    const first = await get(cache, path, 10);
    expect(first?.text).toBe('list+tag');
    expect(first?.size).toBe(8);
    expect(first?.etag).toMatch(/-8"$/);
    now = 20; // revalidated: same size and mtime on disk, so the same entry, not transformed again
    expect(await get(cache, path, 10)).toBe(first);
    expect(transforms).toBe(1);
    await writeFile(path, 'longer');
    now = 40;
    expect((await get(cache, path, 10))?.text).toBe('longer+tag');
    expect(transforms).toBe(2);
  });

  it('detects a same-size rewrite by mtime, and a deleted file', async () => {
    let now = 0;
    const cache = new FileCache({ now: () => now });
    const path = join(dir, 'seg.ts');
    await writeFile(path, 'aaaa');
    await utimes(path, 1000, 1000);
    expect((await get(cache, path, 10))?.body?.toString()).toBe('aaaa');
    await writeFile(path, 'bbbb');
    await utimes(path, 2000, 2000);
    now = 20;
    expect((await get(cache, path, 10))?.body?.toString()).toBe('bbbb');
    await unlink(path);
    now = 40;
    expect(await get(cache, path, 10)).toBeUndefined();
    expect(cache.cachedBytes).toBe(0);
  });

  it('shares one read between concurrent misses and stays within its byte bound', async () => {
    const cache = new FileCache({ maxBytes: 10, maxFileBytes: 8 });
    for (const name of ['a', 'b', 'c']) await writeFile(join(dir, name), '12345');
    const [x, y] = await Promise.all([get(cache, join(dir, 'a'), 1000), get(cache, join(dir, 'a'), 1000)]);
    expect(x).toBe(y);
    await get(cache, join(dir, 'b'), 1000);
    await get(cache, join(dir, 'c'), 1000);
    expect(cache.cachedBytes).toBe(10);
  });

  it('does not keep files above maxFileBytes in memory', async () => {
    const cache = new FileCache({ maxFileBytes: 4 });
    await writeFile(join(dir, 'big'), '123456');
    const entry = await get(cache, join(dir, 'big'), 1000);
    expect(entry?.size).toBe(6);
    expect(entry?.body).toBeUndefined();
    expect(cache.cachedBytes).toBe(0);
  });
});
