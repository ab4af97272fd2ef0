// The apply step against a fake API server that stores what it is sent (as server-side apply does for our fields,
// keeping fields of other managers and ones we no longer send until we apply without them). The evidence of ADR 0009:
// a field removed from the desired object is re-applied, where the subset test alone saw nothing to do.
import { ApiException, type KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import { fullExample, storedLiveStream } from '../../../../test/support/livestream-examples.ts';
import { desiredHashAnnotation, isSubset, withDesiredHash } from '../../k8s/semantic.ts';
import { buildDeployment } from '../desired/index.ts';
import { applyChildrenStep, InvalidSpecs, knownInvalidSpecStep, type ChildrenDeps } from './children.ts';
import { runSteps, type ReconcileState } from './step.ts';
import { channelRedisUrl } from '../../../../contract/src/report-streams.ts';
import { channelOf } from '../desired/redis-secret.ts';

const silent = {
  info: () => {},
  warn: () => {},
  debug: () => {},
  error: () => {},
} as unknown as ChildrenDeps['logger'];

/** A fake API server: the applied objects by kind/namespace/name, a count of applies, an optional rejection. */
function fakeApi() {
  const objects = new Map<string, KubernetesObject>();
  const id = (o: { kind?: string; metadata?: { namespace?: string; name?: string } }) =>
    `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
  const api = {
    objects,
    applied: [] as string[],
    events: [] as string[],
    reject: undefined as string | undefined,
    deps(): ChildrenDeps {
      return {
        client: {
          apply: <T extends KubernetesObject>(obj: T) => {
            if (api.reject && obj.kind === api.reject) {
              return Promise.reject(
                new ApiException(422, 'Invalid', JSON.stringify({ message: 'spec: Invalid value' }), {}),
              );
            }
            api.applied.push(id(obj));
            // Server-side apply with force: our fields win, fields we stopped sending go. Here the desired object
            // replaces what we sent before; the server's own fields (status, uid) stay.
            objects.set(id(obj), { ...structuredClone(obj), ...({ status: { observed: true } } as object) });
            return Promise.resolve(obj);
          },
        },
        core: {
          createNamespacedSecret: () => Promise.reject(new Error('not used')),
          readNamespacedSecret: () => Promise.reject(new Error('not used')),
        },
        cache: {
          child: <T extends KubernetesObject>(resource: string, namespace: string, name: string) =>
            [...objects.values()].find(
              (o) =>
                `${o.kind?.toLowerCase()}s` === resource &&
                o.metadata?.namespace === namespace &&
                o.metadata?.name === name,
            ) as T | undefined,
        },
        events: { record: (_o, _t, reason) => void api.events.push(reason) },
        logger: silent,
        redisUrl: 'redis://redis:6379',
        podMonitors: false,
      };
    },
  };
  return api;
}

const state = (ls: LiveStream, extraLabels?: Record<string, string>): ReconcileState => ({
  key: `${ls.metadata.namespace}/${ls.metadata.name}`,
  ls,
  nowMs: 0,
  build: { image: 'img:1', redis: { secretName: 'full-redis', key: 'url' }, ...(extraLabels ? { extraLabels } : {}) },
  missing: { relays: {} },
  relayKeys: { youtube: 'yt-0123', twitch: 'tw-0123' },
  // What the redis-credential step hands on: the channel's own credential.
  redisSecretUrl: channelRedisUrl('redis://redis:6379', channelOf(ls), 'channel-password-0123456789'),
});

describe('the apply-children step', () => {
  it('applies what is missing, then nothing while the desired objects stay the same', async () => {
    const api = fakeApi();
    const step = applyChildrenStep(api.deps(), new InvalidSpecs());
    const ls = storedLiveStream(fullExample);
    await step.run(state(ls));
    expect(api.applied).toHaveLength(5);
    expect(api.objects.get('Deployment/media/full-transcoder')?.metadata?.annotations?.[desiredHashAnnotation]).toMatch(
      /^[0-9a-f]{16}$/,
    );
    await step.run(state(ls));
    expect(api.applied).toHaveLength(5);
  });

  it('re-applies a child whose desired object lost a label, which the subset test alone misses', async () => {
    const api = fakeApi();
    const step = applyChildrenStep(api.deps(), new InvalidSpecs());
    const ls = storedLiveStream(fullExample);
    await step.run(state(ls, { team: 'sports' }));
    const observed = api.objects.get('Deployment/media/full-transcoder');
    const withoutLabel = buildDeployment(ls, state(ls).build);
    expect(isSubset(withoutLabel, observed)).toBe(true); // the blind spot
    api.applied.length = 0;
    await step.run(state(ls));
    expect(api.applied).toContain('Deployment/media/full-transcoder');
    expect(api.objects.get('Deployment/media/full-transcoder')?.metadata?.labels?.team).toBeUndefined();
    expect(isSubset(withDesiredHash(withoutLabel), api.objects.get('Deployment/media/full-transcoder'))).toBe(true);
  });

  it('re-applies the relay keys copy without the key of a removed relay', async () => {
    const api = fakeApi();
    const step = applyChildrenStep(api.deps(), new InvalidSpecs());
    const ls = storedLiveStream(fullExample);
    await step.run(state(ls));
    api.applied.length = 0;
    await step.run({ ...state(ls), relayKeys: { youtube: 'yt-0123' } });
    expect(api.applied).toEqual(['Secret/media/full-relay-keys']);
    const data = (api.objects.get('Secret/media/full-relay-keys') as { data?: Record<string, string> }).data;
    expect(Object.keys(data ?? {})).toEqual(['youtube']);
  });

  it('re-applies a child changed by hand (drift), the hash annotation untouched', async () => {
    const api = fakeApi();
    const step = applyChildrenStep(api.deps(), new InvalidSpecs());
    const ls = storedLiveStream(fullExample);
    await step.run(state(ls));
    const svc = api.objects.get('Service/media/full') as { spec: { type: string } };
    svc.spec.type = 'ClusterIP';
    api.applied.length = 0;
    await step.run(state(ls));
    expect(api.applied).toEqual(['Service/media/full']);
  });

  it('stops with InvalidSpec on a 422, and sends nothing again until the generation changes', async () => {
    const api = fakeApi();
    const invalid = new InvalidSpecs();
    const steps = [knownInvalidSpecStep(invalid), applyChildrenStep(api.deps(), invalid)];
    api.reject = 'Deployment';
    const ls = storedLiveStream(fullExample, { generation: 7 });
    const first = state(ls);
    await runSteps(steps, first);
    expect(first.invalidSpec).toMatch(/^Deployment full-transcoder: 422: spec: Invalid value$/);
    expect(api.events).toEqual(['InvalidSpec']);
    const applies = api.applied.length;
    api.reject = undefined;
    const again = state(ls);
    await runSteps(steps, again);
    expect(again.invalidSpec).toBe(first.invalidSpec);
    expect(api.applied).toHaveLength(applies);
    const fixed = state(storedLiveStream(fullExample, { generation: 8 }));
    await runSteps(steps, fixed);
    expect(fixed.invalidSpec).toBeUndefined();
    expect(api.applied).toContain('Deployment/media/full-transcoder');
  });

  it('throws other API errors, naming the child, for the work queue to retry with backoff', async () => {
    const api = fakeApi();
    const deps = api.deps();
    deps.client = { apply: () => Promise.reject(new ApiException(500, 'boom', '{"message":"etcd timeout"}', {})) };
    await expect(applyChildrenStep(deps, new InvalidSpecs()).run(state(storedLiveStream(fullExample)))).rejects.toThrow(
      /^Secret full-redis: 500: etcd timeout$/,
    );
  });
});
