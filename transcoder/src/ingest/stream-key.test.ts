import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyDigest, matchKey, rollKeySet, serializeKeySet } from '../../../contract/src/ingest-keys.ts';
import { openStreamKey, parseKeyFile } from './stream-key.ts';
import { redactStreamPaths } from './ingest-server.ts';

describe('parseKeyFile', () => {
  const t = Date.UTC(2026, 11, 1);
  it('reads a plain key (standalone) and matches only it', () => {
    const set = parseKeyFile('s3cret-key\n');
    expect(matchKey(set, 's3cret-key', t)).toBe(true);
    expect(matchKey(set, 's3cret-ke', t)).toBe(false);
  });

  it('reads the operator key set and honours notAfter', () => {
    const set = rollKeySet({ keys: [{ sha256: keyDigest('old-key') ?? '' }] }, keyDigest('new-key'), t, 60_000).set;
    const file = parseKeyFile(serializeKeySet(set) + '\n');
    expect(matchKey(file, 'new-key', t)).toBe(true);
    expect(matchKey(file, 'old-key', t + 59_000)).toBe(true);
    expect(matchKey(file, 'old-key', t + 60_000)).toBe(false);
  });

  it('accepts nothing from an empty file, and refuses a malformed key set', () => {
    expect(parseKeyFile(' \n')).toEqual({ keys: [] });
    expect(() => parseKeyFile('{"keys": [{"sha256": "nope"}]}')).toThrow(/malformed/);
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
    const key = openStreamKey(file, { onReload: () => reloads++, pollMs: 50 });
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
    const key = openStreamKey(file, { onError: (e) => errors.push(e), pollMs: 50 });
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

describe('openStreamKey with the operator key set', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // As the kubelet swaps a Secret volume: never a half-written file.
  const replace = async (file: string, content: string) => {
    await writeFile(`${file}.tmp`, content);
    await rename(`${file}.tmp`, file);
  };
  const waitUntil = async (probe: () => boolean) => {
    const deadline = Date.now() + 5_000;
    while (!probe() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };

  it('takes a rotation at once, keeps the old key for its grace, and keeps the last good set on a bad write', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'keys-'));
    const file = path.join(dir, 'keys.json');
    let clock = Date.UTC(2026, 11, 1, 12);
    const first = rollKeySet(undefined, keyDigest('key-one'), clock, 0).set;
    await writeFile(file, serializeKeySet(first));
    const reloads: unknown[] = [];
    const errors: unknown[] = [];
    const key = openStreamKey(file, {
      now: () => clock,
      pollMs: 20,
      onReload: (r) => reloads.push(r),
      onError: (e) => errors.push(e),
    });
    try {
      expect(key.matches('key-one')).toBe(true);
      expect(key.matches('key-two')).toBe(false);
      const rotated = rollKeySet(first, keyDigest('key-two'), clock, 90_000).set;
      await replace(file, serializeKeySet(rotated));
      await waitUntil(() => key.matches('key-two'));
      expect(key.matches('key-two')).toBe(true);
      expect(key.matches('key-one')).toBe(true);
      expect(reloads).toEqual([{ keys: 2, previousKeyExpiresAt: '2026-12-01T12:01:30Z' }]);
      expect(JSON.stringify(reloads)).not.toContain(keyDigest('key-one'));

      await replace(file, '{"keys": [');
      await waitUntil(() => errors.length > 0);
      expect(String(errors[0])).toMatch(/not JSON/);
      expect(key.matches('key-two')).toBe(true);

      clock += 90_000;
      expect(key.matches('key-one')).toBe(false);
      expect(key.matches('key-two')).toBe(true);
      expect(key.loaded).toBe(true);
    } finally {
      key.close();
    }
  });

  it('refuses everything when the first read is malformed', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'keys-'));
    const file = path.join(dir, 'keys.json');
    await writeFile(file, '{"keys": "all"}');
    const errors: unknown[] = [];
    const key = openStreamKey(file, { onError: (e) => errors.push(e), pollMs: 20 });
    try {
      expect(key.loaded).toBe(false);
      expect(key.matches('all')).toBe(false);
      expect(errors.length).toBeGreaterThan(0);
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
