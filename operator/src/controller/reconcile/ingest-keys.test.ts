// The ingest keys step against a fake API server with a cache that lags behind its applies, as an informer does.
import type { KubernetesObject, V1Pod, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import { keyDigest, parseKeySet, type IngestKeySet } from '../../../../contract/src/ingest-keys.ts';
import { ingestKeysHashAnnotation } from '../../../../contract/src/pod-contract.ts';
import { minimalExample, storedLiveStream } from '../../../../test/support/livestream-examples.ts';
import { IngestKeys, rotationMessage, type IngestKeysDeps } from './ingest-keys.ts';
import type { ReconcileState } from './step.ts';

const silent = {
  info: () => {},
  warn: () => {},
  debug: () => {},
  error: () => {},
} as unknown as IngestKeysDeps['logger'];
const t0 = Date.UTC(2026, 11, 1, 12);
const d = (k: string) => keyDigest(k)!;

function fakeCluster() {
  const applied: V1Secret[] = [];
  const events: { type: string; reason: string; message: string }[] = [];
  const patches: { name: string; hash: string }[] = [];
  const pods: V1Pod[] = [{ metadata: { name: 'minimal-transcoder-abc', namespace: 'media' } }];
  let cached: V1Secret | undefined;
  const deps: IngestKeysDeps = {
    client: {
      apply: <T extends KubernetesObject>(obj: T) => {
        applied.push(obj);
        return Promise.resolve(obj);
      },
    },
    core: {
      listNamespacedPod: () => Promise.resolve({ items: pods }),
      patchNamespacedPod: ({
        name,
        body,
      }: {
        name: string;
        body: { metadata: { annotations: Record<string, string> } };
      }) => {
        const hash = body.metadata.annotations[ingestKeysHashAnnotation] ?? '';
        patches.push({ name, hash });
        const pod = pods.find((p) => p.metadata?.name === name);
        if (pod?.metadata) pod.metadata.annotations = { [ingestKeysHashAnnotation]: hash };
        return Promise.resolve(pod ?? {});
      },
    },
    cache: { child: <T extends KubernetesObject>() => cached as T | undefined },
    events: { record: (_o, type, reason, message) => void events.push({ type, reason, message }) },
    logger: silent,
  };
  return {
    deps,
    applied,
    events,
    patches,
    pods,
    /** The informer catches up with the last apply. */
    sync: () => (cached = applied.at(-1)),
    lastSet: (): IngestKeySet =>
      parseKeySet(Buffer.from(applied.at(-1)?.data?.['keys.json'] ?? '', 'base64').toString()),
  };
}

const ls = (grace?: string): LiveStream => {
  const l = storedLiveStream(minimalExample);
  if (grace) l.spec.streamKey = { rotationGracePeriod: grace };
  return l;
};

const state = (l: LiveStream, nowMs: number, digest: string | undefined | null): ReconcileState => ({
  key: 'media/minimal',
  ls: l,
  nowMs,
  build: { image: 'img:1' },
  missing: { relays: {} },
  relayKeys: {},
  ...(digest !== null ? { streamKey: { digest } } : {}),
});

describe('the ingest-keys step', () => {
  it('writes the current key, then on a rotation both digests, an Event with the expiry, the pods marked once', async () => {
    const c = fakeCluster();
    const keys = new IngestKeys(c.deps);
    const step = keys.step();
    const first = state(ls('10m'), t0, d('key-a'));
    expect(await step.run(first)).toEqual({ kind: 'continue' });
    expect(c.lastSet()).toEqual({ keys: [{ sha256: d('key-a') }] });
    expect(c.events).toEqual([]);
    c.sync();

    const rotate = state(ls('10m'), t0 + 5_000, d('key-b'));
    expect(await step.run(rotate)).toEqual({ kind: 'requeue', afterMs: 600_000 + 100 });
    expect(c.lastSet()).toEqual({
      keys: [{ sha256: d('key-b') }, { sha256: d('key-a'), notAfter: '2026-12-01T12:10:05Z' }],
    });
    expect(rotate.ingestKeys).toEqual(c.lastSet());
    expect(c.events).toEqual([
      {
        type: 'Normal',
        reason: 'StreamKeyRotated',
        message:
          'the stream key in Secret minimal-stream-key changed: the new key is accepted now, the previous key is accepted until 2026-12-01T12:10:05Z',
      },
    ]);
    expect(JSON.stringify(c.events)).not.toContain(d('key-a'));
    expect(c.patches.map((p) => p.name)).toEqual(['minimal-transcoder-abc', 'minimal-transcoder-abc']);
    expect(new Set(c.patches.map((p) => p.hash)).size).toBe(2);

    // The cache still shows the first set: the remembered one is rolled, so nothing changes and nothing is announced.
    const applies = c.applied.length;
    await step.run(state(ls('10m'), t0 + 6_000, d('key-b')));
    expect(c.lastSet().keys[1]?.notAfter).toBe('2026-12-01T12:10:05Z');
    expect(c.events).toHaveLength(1);
    expect(c.patches).toHaveLength(2);
    c.sync();
    await step.run(state(ls('10m'), t0 + 7_000, d('key-b')));
    expect(c.applied.length).toBeLessThanOrEqual(applies + 1);

    // At the expiry the old key is pruned, and nothing is left to wait for.
    expect(await step.run(state(ls('10m'), t0 + 605_000, d('key-b')))).toEqual({ kind: 'continue' });
    expect(c.lastSet()).toEqual({ keys: [{ sha256: d('key-b') }] });
    expect(c.patches).toHaveLength(3);
  });

  it('starts a new leader from the observed Secret, and only prunes when the key is not known', async () => {
    const c = fakeCluster();
    await new IngestKeys(c.deps).step().run(state(ls('1h'), t0, d('key-a')));
    await new IngestKeys(c.deps).step().run(state(ls('1h'), t0, d('key-b')));
    c.sync();
    const leader = new IngestKeys(c.deps);
    const unknown = state(ls('1h'), t0 + 1_000, null);
    await leader.step().run(unknown);
    expect(unknown.ingestKeys?.keys.map((k) => k.sha256)).toEqual([d('key-b')]);
    c.sync();
    const rotate = state(ls('1h'), t0 + 2_000, d('key-c'));
    await leader.step().run(rotate);
    expect(rotate.ingestKeys?.keys).toEqual([
      { sha256: d('key-c') },
      { sha256: d('key-b'), notAfter: '2026-12-01T13:00:02Z' },
    ]);
  });

  it('marks no pod for a set a new leader finds unchanged, and marks them when it changes the set', async () => {
    const c = fakeCluster();
    await new IngestKeys(c.deps).step().run(state(ls('1h'), t0, d('key-a')));
    c.sync();
    const marked = c.patches.length;
    c.pods[0]!.metadata!.annotations = {};
    const leader = new IngestKeys(c.deps).step();
    await leader.run(state(ls('1h'), t0 + 1_000, d('key-a')));
    expect(c.patches).toHaveLength(marked);
    await leader.run(state(ls('1h'), t0 + 2_000, d('key-b')));
    expect(c.patches).toHaveLength(marked + 1);
  });

  it('warns when the Secret loses its key: the old key for the grace, then nothing', async () => {
    const c = fakeCluster();
    const step = new IngestKeys(c.deps).step();
    await step.run(state(ls('90s'), t0, d('key-a')));
    await step.run(state(ls('90s'), t0 + 1_000, undefined));
    expect(c.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'StreamKeyRotated' });
    expect(c.events.at(-1)?.message).toMatch(
      /no longer holds a stream key: the previous key is accepted until 2026-12-01T12:01:31Z/,
    );
    await step.run(state(ls('90s'), t0 + 91_000, undefined));
    expect(c.lastSet()).toEqual({ keys: [] });
  });

  it('skips pods being deleted and pods already marked', async () => {
    const c = fakeCluster();
    c.pods.push({ metadata: { name: 'old', namespace: 'media', deletionTimestamp: new Date() } });
    const step = new IngestKeys(c.deps).step();
    await step.run(state(ls(), t0, d('key-a')));
    expect(c.patches.map((p) => p.name)).toEqual(['minimal-transcoder-abc']);
    await new IngestKeys(c.deps).step().run(state(ls(), t0, d('key-a')));
    expect(c.patches).toHaveLength(1);
  });
});

describe('rotationMessage', () => {
  it('says when the old key no longer works with a grace of 0', () => {
    expect(rotationMessage('k', { keys: [{ sha256: d('b') }] }, t0)).toBe(
      'the stream key in Secret k changed: the new key is accepted now, the previous key is no longer accepted',
    );
  });
});
