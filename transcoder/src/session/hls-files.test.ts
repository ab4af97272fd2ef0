import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { playlistPosition } from '../hls/playlists.ts';
import { appendEndlist, clearDirectory } from './hls-files.ts';
import { newSessionId } from './session-id.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hls-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const live =
  '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2.0,\nseg_00007.ts\n#EXTINF:2.0,\nseg_00008.ts\n';

describe('hls files', () => {
  it('appends ENDLIST once', async () => {
    const file = path.join(dir, 'index.m3u8');
    await writeFile(file, live);
    expect(await appendEndlist(file)).toBe(true);
    expect(await appendEndlist(file)).toBe(false);
    // The same playlist with ENDLIST: hls-parser writes EXTINF durations in their shortest form.
    expect(await readFile(file, 'utf8')).toBe(live.replace(/2\.0,/g, '2,') + '#EXT-X-ENDLIST\n');
    expect(await appendEndlist(path.join(dir, 'missing.m3u8'))).toBe(false);
  });

  it('empties a directory but keeps it', async () => {
    await mkdir(path.join(dir, 'a'));
    await writeFile(path.join(dir, 'a', 'x.ts'), 'x');
    await writeFile(path.join(dir, 'master.m3u8'), 'x');
    await clearDirectory(dir);
    expect(await readdir(dir)).toEqual([]);
    await clearDirectory(path.join(dir, 'nope'));
  });

  it('reads the position of a live playlist', () => {
    expect(playlistPosition(live)).toEqual({ mediaSequence: 7, segments: 2, lastSequence: 8 });
    expect(playlistPosition('#EXTM3U\n')).toEqual({ mediaSequence: 0, segments: 0, lastSequence: -1 });
  });
});

describe('newSessionId', () => {
  it('sorts by time and differs within the same millisecond', () => {
    const a = newSessionId(1_000);
    const b = newSessionId(2_000_000_000_000);
    expect(a < b).toBe(true);
    expect(a).toMatch(/^[0-9a-z]{9}-[0-9a-f]{10}$/);
    expect(newSessionId(5)).not.toBe(newSessionId(5));
  });
});
