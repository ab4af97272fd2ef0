import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyMatcher, openStreamKey } from './stream-key.ts';
import { redactStreamPaths } from './ingest-server.ts';

describe('keyMatcher', () => {
  it('matches only the exact key, of any length', () => {
    const m = keyMatcher('s3cret-key');
    expect(m('s3cret-key')).toBe(true);
    expect(m('s3cret-ke')).toBe(false);
    expect(m('s3cret-key ')).toBe(false);
    expect(m('')).toBe(false);
  });

  it('matches nothing without a key', () => {
    expect(keyMatcher(null)('')).toBe(false);
    expect(keyMatcher('')('')).toBe(false);
  });
});

describe('openStreamKey', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the Secret file (trailing newline ignored) and follows its changes', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'key-'));
    const file = path.join(dir, 'streamKey');
    await writeFile(file, 'first-key\n');
    let reloads = 0;
    const key = openStreamKey(file, undefined, () => reloads++);
    try {
      expect(key.loaded).toBe(true);
      expect(key.matches('first-key')).toBe(true);
      await writeFile(file, 'second-key');
      const deadline = Date.now() + 5_000;
      while (!key.matches('second-key') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(key.matches('second-key')).toBe(true);
      expect(key.matches('first-key')).toBe(false);
      expect(reloads).toBe(1);
    } finally {
      key.close();
    }
  });

  it('refuses everything until a missing file appears', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'key-'));
    const file = path.join(dir, 'streamKey');
    const errors: unknown[] = [];
    const key = openStreamKey(file, (e) => errors.push(e));
    try {
      expect(key.loaded).toBe(false);
      expect(key.matches('')).toBe(false);
      expect(errors.length).toBeGreaterThan(0);
      await writeFile(file, 'late-key');
      const deadline = Date.now() + 5_000;
      while (!key.loaded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(key.matches('late-key')).toBe(true);
    } finally {
      key.close();
    }
  });
});

describe('redactStreamPaths', () => {
  it('removes stream names from node-media-server log lines', () => {
    const lines = [
      'RTMP session abc 1.2.3.4:5 push /live/my-secret-key error, streamPath=/live/my-secret-key already has a publisher',
      'RTMP session abc invalid stream path characters: app=live, name=my.secret',
      'FLV session x start play /live/my-secret-key',
    ];
    for (const l of lines) expect(redactStreamPaths(l)).not.toMatch(/secret/);
    expect(redactStreamPaths(lines[0]!)).toContain('/live/[redacted]');
  });
});
