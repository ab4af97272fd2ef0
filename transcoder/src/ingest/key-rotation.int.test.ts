// A stream key rotation on the real transcoder (node transcoder/src/main.ts in pod mode, reading the operator's key
// set file) with real ffmpeg publishers: the publisher on air stays connected through the rotation and even past its
// key's expiry, the new key is accepted at once, the old key inside the grace and refused after it. The key set file
// is replaced by a rename, as the kubelet swaps a Secret volume's content.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyDigest, rollKeySet, serializeKeySet, type IngestKeySet } from '../../../contract/src/ingest-keys.ts';
import { minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';
import { pickFreePort } from '../../../test/support/redis-process.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const repo = path.resolve(import.meta.dirname, '../../..');
const [oldKey, newKey] = ['old-key-0123456789abcdef', 'new-key-0123456789abcdef'];
const graceMs = 10_000;

describe('stream key rotation on the running transcoder', () => {
  let dir = '';
  let child: ChildProcess;
  let out = '';
  let rtmpPort = 0;
  const publishers: Publisher[] = [];

  const logs = () =>
    out.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg?: string; reason?: string }];
      } catch {
        return [];
      }
    });
  const count = (msg: string, reason?: string) =>
    logs().filter((l) => l.msg === msg && (reason === undefined || l.reason === reason)).length;
  const publish = (key: string) => {
    const p = startPublisher({ url: `rtmp://127.0.0.1:${rtmpPort}/live/${key}`, size: '320x180', videoKbps: 300 });
    publishers.push(p);
    return p;
  };
  const next = (msg: string, reason?: string) => {
    const before = count(msg, reason);
    return () =>
      waitFor(`${msg} ${reason ?? ''}`, () => (count(msg, reason) > before ? true : undefined), { timeoutMs: 10_000 });
  };
  const writeKeys = async (set: IngestKeySet) => {
    const tmp = path.join(dir, 'keys.json.tmp');
    await writeFile(tmp, serializeKeySet(set));
    await rename(tmp, path.join(dir, 'keys.json'));
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'key-rotation-'));
    const ls = storedLiveStream(minimalExample);
    ls.spec.ladder = { preset: '360p', passthrough: true };
    await writeFile(path.join(dir, 'livestream.json'), JSON.stringify(ls));
    await writeKeys({ keys: [{ sha256: keyDigest(oldKey)! }] });
    rtmpPort = await pickFreePort();
    const httpPort = await pickFreePort();
    child = spawn(
      process.execPath,
      [
        'transcoder/src/main.ts',
        '--config',
        path.join(dir, 'livestream.json'),
        '--stream-key-file',
        path.join(dir, 'keys.json'),
      ],
      {
        cwd: repo,
        env: {
          PATH: process.env.PATH,
          LSO_RTMP_PORT: String(rtmpPort),
          LSO_HTTP_PORT: String(httpPort),
          LSO_HLS_DIR: path.join(dir, 'hls'),
          LSO_X264_PRESET: 'ultrafast',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(
      'the transcoder',
      () =>
        fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
          (r) => r.ok || undefined,
          () => undefined,
        ),
      {
        timeoutMs: 20_000,
      },
    );
  });

  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.kill()));
    child?.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the publisher on air, takes the new key at once, the old key inside the grace only', async () => {
    const accepted = next('publish accepted');
    const onAir = publish(oldKey);
    await accepted();

    const reloaded = next('stream keys reloaded; the publisher on air stays connected');
    const rotatedAt = Date.now();
    const set = rollKeySet({ keys: [{ sha256: keyDigest(oldKey)! }] }, keyDigest(newKey), rotatedAt, graceMs).set;
    const notAfter = Date.parse(set.keys[1]?.notAfter ?? '');
    await writeKeys(set);
    await reloaded();

    // The new key at once: it passes the key check and meets the one publisher on air ("busy" comes after the key).
    const busy = next('publish refused', 'busy');
    await publish(newKey).exited;
    await busy();
    const badKey = next('publish refused', 'bad_key');
    await publish('not-a-key-of-this-channel').exited;
    await badKey();
    expect(onAir.process.exitCode).toBeNull();
    expect(count('publish ended')).toBe(0);

    // The old key inside the grace: a new publish with it is accepted.
    const ended = next('publish ended');
    await onAir.stop();
    await ended();
    // One refused key takes one of the address's tries: the right key goes on at once.
    const acceptedAgain = next('publish accepted');
    const withOld = publish(oldKey);
    await acceptedAgain();
    expect(Date.now()).toBeLessThan(notAfter);

    // Past the grace the publisher stays connected (its key is checked when it starts), and its key is refused.
    await sleep(Math.max(0, notAfter - Date.now()) + 500);
    const refusedOld = next('publish refused', 'bad_key');
    await publish(oldKey).exited;
    await refusedOld();
    expect(withOld.process.exitCode).toBeNull();
    expect(count('publish ended')).toBe(1);

    const endedAgain = next('publish ended');
    await withOld.stop();
    await endedAgain();
    const acceptedNew = next('publish accepted');
    const withNew = publish(newKey);
    await acceptedNew();
    await withNew.stop();
    expect(out).not.toContain(oldKey);
    expect(out).not.toContain(newKey);
  });
});
