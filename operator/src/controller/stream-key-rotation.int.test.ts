// Stream key rotation against a real API server and the operator process: a user's Secret and a generated one are
// rotated; "<name>-ingest-keys" holds both digests (never a key), status and `kubectl get -o wide` show until when the
// old key works, an Event says so, the channel's pod gets the set's hash annotation (the kubelet's prompt refresh),
// and after the grace the old digest and the status field are gone. The operator runs with a resync of an hour, so
// only the watches (the metadata-only Secret informer for a user's Secret) can bring a rotation in within seconds.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { keyDigest, keySetHash, parseKeySet, type IngestKeySet } from '../../../contract/src/ingest-keys.ts';
import { ingestKeysHashAnnotation } from '../../../contract/src/pod-contract.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { eventually, startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('stream key rotation', () => {
  const cluster = useTestCluster('rotation');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const streams = liveStreams(cluster);
  const ns = () => cluster.namespace;
  let operator: OperatorProcess;

  const keySet = async (name: string): Promise<IngestKeySet | undefined> => {
    const secret = await core
      .readNamespacedSecret({ name: `${name}-ingest-keys`, namespace: ns() })
      .catch(() => undefined);
    const data = secret?.data?.['keys.json'];
    return data === undefined ? undefined : parseKeySet(Buffer.from(data, 'base64').toString());
  };
  const digests = (set: IngestKeySet | undefined) => set?.keys.map((k) => k.sha256);
  const untilSet = (name: string, what: string, check: (s: IngestKeySet) => boolean, timeoutMs = 10_000) =>
    eventually(
      async () => {
        const s = await keySet(name);
        return s && check(s) ? s : undefined;
      },
      timeoutMs,
      what,
    );
  /** A pod of the channel, as the Deployment would make it (no kubelet here: it stays Pending). */
  const channelPod = (name: string) =>
    eventually(
      () =>
        core
          .createNamespacedPod({
            namespace: ns(),
            body: {
              metadata: {
                name: `${name}-transcoder-pod`,
                labels: {
                  'app.kubernetes.io/name': 'livestream',
                  'app.kubernetes.io/instance': name,
                  'app.kubernetes.io/component': 'transcoder',
                },
              },
              spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'none:0' }] },
            },
          })
          .catch(() => undefined),
      10_000,
      'a pod of the channel',
    );
  const podHash = async (name: string) =>
    (await core.readNamespacedPod({ name: `${name}-transcoder-pod`, namespace: ns() })).metadata?.annotations?.[
      ingestKeysHashAnnotation
    ];
  const rotatedEvents = async (name: string) => {
    const out = await cluster.kubectl([
      'get', 'events', '-n', ns(), '--field-selector', `involvedObject.name=${name},reason=StreamKeyRotated`, '-o', 'json',
    ]); // prettier-ignore
    return (JSON.parse(out) as { items: { message?: string; type?: string }[] }).items;
  };
  const expectNoKeyIn = async (name: string, keys: string[]) => {
    const seen = JSON.stringify([await streams.get(name), await keySet(name), await rotatedEvents(name)]);
    for (const k of keys) expect(seen).not.toContain(k);
  };

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: cluster.namespace,
      env: { LSO_RESYNC_SECONDS: '3600', LSO_TRANSCODER_IMAGE: 'livestream-transcoder:test' },
    });
  });
  afterAll(async () => {
    await operator?.stop();
  });

  it("takes a new key in the user's Secret at once, keeps the old one for the grace, then prunes it", async () => {
    const [oldKey, newKey] = ['user-key-old-0123456789', 'user-key-new-0123456789'];
    await core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: 'studio-key' }, data: { obs: b64(oldKey) } },
    });
    await streams.apply('user', {
      streamKey: { secretRef: { name: 'studio-key', key: 'obs' }, rotationGracePeriod: '12s' },
    });
    await untilSet('user', 'the current key', (s) => s.keys.length === 1 && s.keys[0]?.sha256 === keyDigest(oldKey));
    // A pod made after the set was applied mounts it as it is: it is marked at the next change only.
    await channelPod('user');
    expect(await podHash('user')).toBeUndefined();

    const rotatedAt = Date.now();
    await core.patchNamespacedSecret({
      name: 'studio-key',
      namespace: ns(),
      body: [{ op: 'replace', path: '/data/obs', value: b64(newKey) }],
    });
    const rotated = await untilSet('user', 'both digests', (s) => s.keys.length === 2, 5_000);
    expect(Date.now() - rotatedAt).toBeLessThan(5_000); // the 10 s re-read and the hourly resync cannot do this
    expect(digests(rotated)).toEqual([keyDigest(newKey), keyDigest(oldKey)]);
    const notAfter = rotated.keys[1]?.notAfter ?? '';
    expect(Date.parse(notAfter) - rotatedAt).toBeGreaterThan(10_000);
    expect(Date.parse(notAfter) - rotatedAt).toBeLessThan(16_000);

    const ls = await streams.until('user', 'the expiry in status', (l: LiveStream) =>
      l.status?.ingest?.previousKeyExpiresAt ? l : undefined,
    );
    expect(ls.status?.ingest?.previousKeyExpiresAt).toBe(notAfter);
    const wide = await cluster.kubectl(['get', 'livestreams', 'user', '-n', ns(), '-o', 'wide']);
    const [header, row] = wide.trim().split('\n');
    expect(header?.split(/\s{2,}/).at(-1)).toBe('PREVIOUS KEY EXPIRES');
    expect(row?.split(/\s{2,}/).at(-1)).toBe(notAfter);
    const narrow = await cluster.kubectl(['get', 'livestreams', 'user', '-n', ns()]);
    expect(narrow).not.toContain('PREVIOUS KEY EXPIRES');
    const events = await eventually(async () => {
      const e = await rotatedEvents('user');
      return e.length > 0 ? e : undefined;
    }, 10_000, 'the StreamKeyRotated event'); // prettier-ignore
    expect(events[0]).toMatchObject({ type: 'Normal' });
    expect(events[0]?.message).toBe(
      `the stream key in Secret studio-key changed: the new key is accepted now, the previous key is accepted until ${notAfter}`,
    );
    await eventually(
      async () => ((await podHash('user')) === keySetHash(rotated) ? true : undefined),
      5_000,
      'pod hash',
    );
    await expectNoKeyIn('user', [oldKey, newKey]);

    // After the grace: the old digest pruned (the operator requeued itself at the expiry), status and column cleared.
    const pruned = await untilSet('user', 'the old key pruned', (s) => s.keys.length === 1, 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(notAfter));
    expect(digests(pruned)).toEqual([keyDigest(newKey)]);
    await streams.until('user', 'no expiry in status', (l) =>
      l.status?.ingest && l.status.ingest.previousKeyExpiresAt === undefined ? true : undefined,
    );
    const after = await cluster.kubectl(['get', 'livestreams', 'user', '-n', ns(), '-o', 'wide']);
    expect(after.trim().split('\n')[0]).toContain('PREVIOUS KEY EXPIRES');
    expect(after).not.toContain(notAfter);
    await eventually(
      async () => ((await podHash('user')) === keySetHash(pruned) ? true : undefined),
      5_000,
      'pod hash',
    );
  });

  it('rotates the generated key when it is edited or deleted, with the grace set without a secretRef', async () => {
    await streams.apply('gen', { streamKey: { rotationGracePeriod: '1h' } });
    const generated = await eventually(
      () => core.readNamespacedSecret({ name: 'gen-stream-key', namespace: ns() }).catch(() => undefined),
      10_000,
      'the generated key',
    );
    const first = Buffer.from(generated.data?.streamKey ?? '', 'base64').toString();
    await untilSet('gen', 'the generated key', (s) => digests(s)?.join() === keyDigest(first));

    const edited = 'edited-generated-key-0123456789';
    await core.patchNamespacedSecret({
      name: 'gen-stream-key',
      namespace: ns(),
      body: [{ op: 'replace', path: '/data/streamKey', value: b64(edited) }],
    });
    await untilSet(
      'gen',
      'the edited key',
      (s) => digests(s)?.join() === [keyDigest(edited), keyDigest(first)].join(),
      5_000,
    );

    // Events are deduplicated by message: a second rotation in the same second announces the same expiry, once.
    await eventually(async () => ((await rotatedEvents('gen')).length === 1 ? true : undefined), 10_000, 'an Event');
    await sleep(1_100);
    await core.deleteNamespacedSecret({ name: 'gen-stream-key', namespace: ns() });
    const regenerated: V1Secret = await eventually(
      async () => {
        const s = await core.readNamespacedSecret({ name: 'gen-stream-key', namespace: ns() }).catch(() => undefined);
        return s && s.data?.streamKey !== b64(edited) ? s : undefined;
      },
      10_000,
      'a new generated key',
    );
    const third = Buffer.from(regenerated.data?.streamKey ?? '', 'base64').toString();
    const set = await untilSet(
      'gen',
      'the new key current, both old ones inside the grace',
      (s) => s.keys.length === 3,
    );
    expect(digests(set)).toEqual([keyDigest(third), keyDigest(edited), keyDigest(first)]);
    // The first expiry announced still holds; the latest one is what status shows.
    const [, second, oldest] = set.keys;
    expect(Date.parse(second?.notAfter ?? '')).toBeGreaterThanOrEqual(Date.parse(oldest?.notAfter ?? ''));
    await streams.until('gen', 'the latest expiry in status', (l) =>
      l.status?.ingest?.previousKeyExpiresAt === second?.notAfter ? true : undefined,
    );
    const events = await eventually(async () => {
      const e = await rotatedEvents('gen');
      return e.length >= 2 ? e : undefined;
    }, 10_000, 'an Event per rotation'); // prettier-ignore
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.message)).size).toBe(2);
    await expectNoKeyIn('gen', [first, edited, third]);
  });
});
