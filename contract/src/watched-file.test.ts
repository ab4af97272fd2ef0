import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchFile } from './watched-file.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('watchFile', () => {
  it('follows a Kubernetes-style ConfigMap update (the ..data symlink swapped atomically)', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'watch-'));
    // The kubelet layout: livestream.json -> ..data/livestream.json, ..data -> ..<timestamp>/
    await mkdir(path.join(dir, '..v1'));
    await writeFile(path.join(dir, '..v1', 'livestream.json'), '{"v":1}');
    await symlink('..v1', path.join(dir, '..data'));
    await symlink('..data/livestream.json', path.join(dir, 'livestream.json'));
    const seen: string[] = [];
    const w = watchFile(path.join(dir, 'livestream.json'), (c) => seen.push(c.toString()), {
      intervalMs: 20,
      initialContent: '{"v":1}',
    });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual([]); // the content the caller already has is not a change
      await mkdir(path.join(dir, '..v2'));
      await writeFile(path.join(dir, '..v2', 'livestream.json'), '{"v":2}');
      await symlink('..v2', path.join(dir, '..data_tmp'));
      await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      await until(() => seen.length > 0);
      expect(seen).toEqual(['{"v":2}']);
    } finally {
      w.close();
    }
  });

  it('reports read errors and picks the file up once it exists', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'watch-'));
    const file = path.join(dir, 'late');
    const seen: string[] = [];
    const errors: unknown[] = [];
    const w = watchFile(file, (c) => seen.push(c.toString()), { intervalMs: 20, onError: (e) => errors.push(e) });
    try {
      await until(() => errors.length > 0);
      expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
      await writeFile(file, 'now');
      await until(() => seen.length > 0);
      expect(seen).toEqual(['now']);
    } finally {
      w.close();
    }
  });
});
