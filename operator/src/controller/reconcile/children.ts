// The children of a LiveStream: the generated stream key (created once, never rewritten: that would rotate it), then
// every other child applied by server-side apply when needsApply says so (missing, changed desired object, drift).
// A child the API server rejects as invalid (422) was built from a spec the CRD schema could not refuse: that is a
// False condition, not an error, and the apply is not tried again until the spec's generation changes.
import { randomBytes } from 'node:crypto';
import { ApiException, type CoreV1Api, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { EventReason, streamKeySecretKey, type LiveStream } from '../../../../contract/src/api/index.ts';
import { keyDigest } from '../../../../contract/src/ingest-keys.ts';
import type { Logger } from '../../../../contract/src/logger.ts';
import { describeApiError, isConflict, type KubeClient } from '../../k8s/client.ts';
import { needsApply, withDesiredHash } from '../../k8s/semantic.ts';
import type { EventRecorder } from '../../telemetry/events.ts';
import {
  buildConfigMap,
  buildDeployment,
  buildPodMonitor,
  buildRedisSecret,
  buildRelayKeysSecret,
  buildService,
  buildStreamKeySecret,
  childNames,
} from '../desired/index.ts';
import { secretValue } from './secrets.ts';
import { proceed, stopWith, type ReconcileState, type Step } from './step.ts';

/** Resource names of the child informers (see watches.ts), used to read the observed children. */
export const childResources = {
  secrets: 'secrets',
  configMaps: 'configmaps',
  deployments: 'deployments',
  services: 'services',
  podMonitors: 'podmonitors',
  jobs: 'jobs',
} as const;

export interface ChildCache {
  child<T extends KubernetesObject>(resource: string, namespace: string, name: string): T | undefined;
}

export interface ChildrenDeps {
  client: Pick<KubeClient, 'apply'>;
  core: Pick<CoreV1Api, 'createNamespacedSecret' | 'readNamespacedSecret'>;
  cache: ChildCache;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  redisUrl: string | undefined;
  podMonitors: boolean;
}

const isInvalid = (err: unknown): boolean => err instanceof ApiException && err.code === 422;

/** The children to apply, each with the informer that observes it. */
export function desiredChildren(
  state: ReconcileState,
  deps: Pick<ChildrenDeps, 'redisUrl' | 'podMonitors'>,
): [resource: string, desired: KubernetesObject][] {
  const { ls, build } = state;
  const children: [string, KubernetesObject][] = [];
  // The channel's own credential, from the redis-credential step (never the operator's URL).
  if (deps.redisUrl && state.redisSecretUrl)
    children.push([childResources.secrets, buildRedisSecret(ls, { ...build, redisUrl: state.redisSecretUrl })]);
  children.push(
    [childResources.secrets, buildRelayKeysSecret(ls, { ...build, keys: state.relayKeys })],
    [childResources.configMaps, buildConfigMap(ls, build)],
    [childResources.services, buildService(ls, build)],
    [childResources.deployments, buildDeployment(ls, build)],
  );
  if (deps.podMonitors) children.push([childResources.podMonitors, buildPodMonitor(ls, build)]);
  return children;
}

/** Remembers, per LiveStream, the generation whose children the API server rejected. */
export class InvalidSpecs {
  private readonly byKey = new Map<string, { generation: number | undefined; message: string }>();

  /** The rejection of this generation, if any (a new generation clears it). */
  of(key: string, ls: LiveStream): string | undefined {
    const known = this.byKey.get(key);
    if (!known) return undefined;
    if (known.generation === ls.metadata.generation) return known.message;
    this.byKey.delete(key);
    return undefined;
  }

  remember(key: string, ls: LiveStream, message: string): void {
    this.byKey.set(key, { generation: ls.metadata.generation, message });
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}

/** Stops at once for a generation already rejected: nothing is sent again until the spec changes. */
export function knownInvalidSpecStep(invalid: InvalidSpecs): Step {
  return {
    name: 'known-invalid-spec',
    run: (state) => {
      const message = invalid.of(state.key, state.ls);
      return Promise.resolve(message !== undefined ? stopWith(message) : proceed);
    },
  };
}

/** The generated key: created once when absent (a user may edit or delete it to rotate it), and its digest noted. */
export function streamKeyStep(deps: ChildrenDeps): Step {
  return {
    name: 'stream-key',
    applies: true,
    run: async (state) => {
      const { ls, build } = state;
      if (ls.spec.streamKey?.secretRef) return proceed;
      const name = childNames(ls).generatedStreamKeySecret;
      const namespace = ls.metadata.namespace ?? '';
      const cached = deps.cache.child<V1Secret>(childResources.secrets, namespace, name);
      if (cached) {
        state.streamKey = { digest: keyDigest(secretValue(cached, streamKeySecretKey(ls)) ?? '') };
        return proceed;
      }
      const key = randomBytes(24).toString('base64url');
      try {
        await deps.core.createNamespacedSecret({
          namespace,
          body: buildStreamKeySecret(ls, { ...build, streamKey: key }),
        });
        deps.events.record(ls, 'Normal', EventReason.StreamKeyGenerated, `generated Secret ${name}`);
        state.streamKey = { digest: keyDigest(key) };
      } catch (err) {
        // The cache lags behind a create of ours, or the Secret exists: keep it as it is, and read its key.
        if (!isConflict(err)) throw err;
        const existing = await deps.core.readNamespacedSecret({ name, namespace });
        state.streamKey = { digest: keyDigest(secretValue(existing, streamKeySecretKey(ls)) ?? '') };
      }
      return proceed;
    },
  };
}

export function applyChildrenStep(deps: ChildrenDeps, invalid: InvalidSpecs): Step {
  return {
    name: 'apply-children',
    applies: true,
    run: async (state) => {
      for (const [resource, built] of desiredChildren(state, deps)) {
        const desired = withDesiredHash(built);
        const { namespace = '', name = '' } = desired.metadata ?? {};
        if (!needsApply(desired, deps.cache.child(resource, namespace, name))) continue;
        try {
          await deps.client.apply(desired);
        } catch (err) {
          const what = `${desired.kind} ${name}: ${describeApiError(err)}`;
          if (!isInvalid(err)) throw new Error(what, { cause: err });
          invalid.remember(state.key, state.ls, what);
          deps.events.record(state.ls, 'Warning', EventReason.InvalidSpec, what);
          deps.logger.warn({ livestream: state.key, child: `${desired.kind}/${name}` }, 'child rejected as invalid');
          return stopWith(what);
        }
      }
      return proceed;
    },
  };
}
