// What the controller watches: LiveStreams, the children the operator labels as its own (label selector, so these
// caches hold no user's Secret), and every Secret by metadata only (names and resourceVersions, never data), so that
// a change to a Secret a LiveStream references (stream key, relay key, S3 credentials) is reconciled at once.
// Cluster-wide, or one namespace.
//
// Each cache keeps only what the operator reads (childTransforms): of a child, the fields our manager applied (what
// change detection compares) and the status or assigned fields a step reads; nothing of a Job but its outcome; of a
// Secret and a LiveStream everything but managedFields and kubectl's last-applied copy.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { group, kind, plural, version, type LiveStream } from '../../contract/src/api/index.ts';
import { childResources } from './controller/reconciler.ts';
import { referencedSecretNames, secretMetadataResource } from './controller/reconcile/secrets.ts';
import { managedBy, podMonitorGroup, podMonitorPlural, podMonitorVersion } from './controller/desired/index.ts';
import { keyOf, ownerKey, type WatchSpec } from './runtime/controller.ts';
import { metadataOnly, partialObjectMetadataList, type CacheTransform } from './runtime/informer.ts';
import { childProjection, withoutBookkeeping, type FieldSet } from './runtime/cache-transform.ts';
import { fieldManager } from './k8s/client.ts';

export const childSelector = `app.kubernetes.io/managed-by=${managedBy}`;

/** What the operator reads of its children besides the fields it applies (grep `cache.child`). */
export const childReads = {
  // status/endpoints.ts: the type, the node ports the API server assigns, a load balancer's ingress.
  services: { 'f:spec': { 'f:type': {}, 'f:ports': {} }, 'f:status': { 'f:loadBalancer': {} } },
  // reconciler.ts observeChildren: whether the transcoder is available.
  deployments: { 'f:status': { 'f:availableReplicas': {} } },
  // reconcile/recordings.ts jobOutcome: Jobs are created once and never compared, so only their outcome.
  jobs: { 'f:status': { 'f:succeeded': {}, 'f:conditions': {} } },
} satisfies Record<string, FieldSet>;

/** The cache transform of each child resource (cache-transform.ts). */
export const childTransforms: Record<string, CacheTransform<KubernetesObject>> = {
  // Read whole by the steps (keys, tokens, credentials) and small: only the bookkeeping goes.
  [childResources.secrets]: withoutBookkeeping,
  [childResources.configMaps]: childProjection({ manager: fieldManager }),
  [childResources.services]: childProjection({ manager: fieldManager, reads: childReads.services }),
  [childResources.deployments]: childProjection({ manager: fieldManager, reads: childReads.deployments }),
  [childResources.podMonitors]: childProjection({ manager: fieldManager }),
  [childResources.jobs]: childProjection({ reads: childReads.jobs }),
};

interface Lister {
  (namespace: string | undefined, labelSelector?: string): Promise<unknown>;
}

/** The watch path of a collection, cluster-wide or in one namespace. */
export function collectionPath(apiPrefix: string, resource: string, namespace: string | undefined): string {
  return namespace ? `${apiPrefix}/namespaces/${namespace}/${resource}` : `${apiPrefix}/${resource}`;
}

/**
 * Which LiveStreams name which Secrets, noted from the LiveStream informer's events. A LiveStream deleted without a
 * last event showing its deletion stays noted: its key then reconciles to nothing, which is harmless.
 */
export class SecretReferences {
  /** The Secrets each LiveStream names, and the reverse: the LiveStreams naming each "namespace/secret". */
  private readonly byLiveStream = new Map<string, readonly string[]>();
  private readonly bySecret = new Map<string, Set<string>>();

  note(ls: LiveStream): void {
    const key = keyOf(ls);
    for (const secret of this.byLiveStream.get(key) ?? []) {
      const keys = this.bySecret.get(secret);
      keys?.delete(key);
      if (keys?.size === 0) this.bySecret.delete(secret);
    }
    this.byLiveStream.delete(key);
    if (ls.metadata.deletionTimestamp) return;
    const namespace = ls.metadata.namespace ?? '';
    const secrets = referencedSecretNames(ls).map((name) => keyOf({ metadata: { namespace, name } }));
    this.byLiveStream.set(key, secrets);
    for (const secret of secrets) this.bySecret.set(secret, (this.bySecret.get(secret) ?? new Set()).add(key));
  }

  /** The LiveStreams referencing a Secret, in key order (a lookup: every Secret event of a fleet asks). */
  keysFor(secret: KubernetesObject): string[] {
    const keys = this.bySecret.get(keyOf(secret));
    return keys ? [...keys].sort() : [];
  }
}

/** Every Secret by metadata only, mapped to a LiveStream that references it. */
function secretMetadataSpec(core: CoreV1Api, namespace: string | undefined, references: SecretReferences): WatchSpec {
  const accept = setHeaderOptions('Accept', partialObjectMetadataList);
  return {
    resource: secretMetadataResource,
    path: collectionPath('/api/v1', 'secrets', namespace),
    list: metadataOnly(
      () =>
        (namespace
          ? core.listNamespacedSecret({ namespace }, accept)
          : core.listSecretForAllNamespaces({}, accept)) as Promise<KubernetesListObject<KubernetesObject>>,
    ),
    // One key per event (the Controller's contract): the first referencing LiveStream is reconciled at once, the
    // others at their next reconcile, where SecretReads sees the changed resourceVersion in this cache.
    keyFor: (secret) => references.keysFor(secret)[0],
  };
}

export function watchSpecs(kc: KubeConfig, namespace: string | undefined, podMonitors: boolean) {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const customLister =
    (g: string, v: string, p: string): Lister =>
    (ns, labelSelector) =>
      ns
        ? custom.listNamespacedCustomObject({ group: g, version: v, plural: p, namespace: ns, labelSelector })
        : custom.listClusterCustomObject({ group: g, version: v, plural: p, labelSelector });

  const child = (resource: string, apiPrefix: string, lister: Lister): WatchSpec => ({
    resource,
    path: collectionPath(apiPrefix, resource, namespace),
    labelSelector: childSelector,
    list: () => lister(namespace, childSelector) as Promise<KubernetesListObject<KubernetesObject>>,
    keyFor: (obj) => ownerKey(obj, group, kind),
    ...(childTransforms[resource] ? { transform: childTransforms[resource] } : {}),
  });

  const secondaries: WatchSpec[] = [
    child(childResources.secrets, '/api/v1', (ns, labelSelector) =>
      ns
        ? core.listNamespacedSecret({ namespace: ns, labelSelector })
        : core.listSecretForAllNamespaces({ labelSelector }),
    ),
    child(childResources.configMaps, '/api/v1', (ns, labelSelector) =>
      ns
        ? core.listNamespacedConfigMap({ namespace: ns, labelSelector })
        : core.listConfigMapForAllNamespaces({ labelSelector }),
    ),
    child(childResources.services, '/api/v1', (ns, labelSelector) =>
      ns
        ? core.listNamespacedService({ namespace: ns, labelSelector })
        : core.listServiceForAllNamespaces({ labelSelector }),
    ),
    child(childResources.deployments, '/apis/apps/v1', (ns, labelSelector) =>
      ns
        ? apps.listNamespacedDeployment({ namespace: ns, labelSelector })
        : apps.listDeploymentForAllNamespaces({ labelSelector }),
    ),
    child(childResources.jobs, '/apis/batch/v1', (ns, labelSelector) =>
      ns ? batch.listNamespacedJob({ namespace: ns, labelSelector }) : batch.listJobForAllNamespaces({ labelSelector }),
    ),
  ];
  const references = new SecretReferences();
  secondaries.push(secretMetadataSpec(core, namespace, references));
  if (podMonitors) {
    secondaries.push(
      child(
        childResources.podMonitors,
        `/apis/${podMonitorGroup}/${podMonitorVersion}`,
        customLister(podMonitorGroup, podMonitorVersion, podMonitorPlural),
      ),
    );
  }
  const liveStreams = customLister(group, version, plural);
  const primary: WatchSpec<LiveStream> = {
    resource: plural,
    path: collectionPath(`/apis/${group}/${version}`, plural, namespace),
    list: () => liveStreams(namespace) as Promise<KubernetesListObject<LiveStream>>,
    transform: withoutBookkeeping,
    keyFor: (ls) => {
      references.note(ls);
      return keyOf(ls);
    },
    // A spec change not yet in status is what its user waits for (and what a new leader must see to first).
    urgent: (ls) => ls.metadata.generation !== ls.status?.observedGeneration,
  };
  return { primary, secondaries, references };
}
