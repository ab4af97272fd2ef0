// The control plane's floor for the fleet: what the operator wrote, replayed without it. Once the operator has
// converged, every channel's children and status are read back (snapshotFleet); on a second control plane of the same
// make (kwok, the same nodes and controller-manager rate limit), a plain client with as many lanes as the operator has
// workers creates each LiveStream, server-side applies its children exactly as read and writes its status once
// (replayFleet). No reconcile logic, no cache, no status written twice: the time it takes is what the API server,
// etcd and the controllers need for the same objects on this machine, the reference the operator's time is a ratio of.
import { AppsV1Api, type KubernetesObject, type V1OwnerReference } from '@kubernetes/client-node';
import { group, plural, version, type LiveStream } from '../contract/src/api/index.ts';
import type { KubeClient } from '../operator/src/k8s/client.ts';

/** One channel as the operator left it: its LiveStream (spec and status) and its children, ready to apply. */
export interface ChannelReplay {
  namespace: string;
  name: string;
  spec: LiveStream['spec'];
  status: NonNullable<LiveStream['status']>;
  children: KubernetesObject[];
}

const managedBy = 'app.kubernetes.io/managed-by=livestream-operator';
/** KubernetesObjectApi.list's pretty, exact, exportt and fieldSelector, before its labelSelector. */
const noOptions = [undefined, undefined, undefined, undefined] as const;
/** The kinds the operator applies per channel (PodMonitors are not served on the bench's control plane). */
const childKinds = [
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
] as const;

/**
 * Pure: `obj` as a client would first apply it: its kind, name, namespace, labels, annotations and spec or data,
 * nothing the API server assigned (uid, versions, managed fields, status, a Service's cluster IPs) and owned by
 * `owner` instead.
 */
export function replayable(
  obj: KubernetesObject & { spec?: object; status?: unknown },
  kind: (typeof childKinds)[number],
  owner: V1OwnerReference,
) {
  const { metadata, status: _status, apiVersion: _a, kind: _k, ...body } = obj;
  const spec = body.spec;
  const cleanSpec =
    kind.kind === 'Service' && spec
      ? Object.fromEntries(Object.entries(spec).filter(([k]) => k !== 'clusterIP' && k !== 'clusterIPs'))
      : spec;
  return {
    ...body,
    ...(cleanSpec && { spec: cleanSpec }),
    apiVersion: kind.apiVersion,
    kind: kind.kind,
    metadata: {
      name: metadata?.name,
      namespace: metadata?.namespace,
      ...(metadata?.labels && { labels: metadata.labels }),
      ...(metadata?.annotations && { annotations: metadata.annotations }),
      ownerReferences: [owner],
    },
  } as KubernetesObject;
}

/** The owning LiveStream's name of a child, from its controller reference. */
const ownerName = (obj: KubernetesObject) =>
  obj.metadata?.ownerReferences?.find((o) => o.kind === 'LiveStream' && o.controller)?.name;

/** Reads every channel of `namespaces` back: LiveStreams with a status, and the children they own. */
export async function snapshotFleet(client: KubeClient, namespaces: string[]): Promise<ChannelReplay[]> {
  const channels: ChannelReplay[] = [];
  for (const namespace of namespaces) {
    const list = (await client.custom.listNamespacedCustomObject({ group, version, plural, namespace })) as {
      items: LiveStream[];
    };
    const children = new Map<string, KubernetesObject[]>();
    for (const kind of childKinds) {
      const objs = await client.objects.list(kind.apiVersion, kind.kind, namespace, ...noOptions, managedBy);
      for (const obj of objs.items) {
        const owner = ownerName(obj);
        if (owner === undefined) continue;
        const placeholder = { apiVersion: '', kind: 'LiveStream', name: owner, uid: '' };
        children.set(owner, [...(children.get(owner) ?? []), replayable(obj, kind, placeholder)]);
      }
    }
    for (const ls of list.items) {
      const name = ls.metadata.name ?? '';
      if (!ls.status) throw new Error(`${namespace}/${name} has no status to replay`);
      channels.push({ namespace, name, spec: ls.spec, status: ls.status, children: children.get(name) ?? [] });
    }
  }
  return channels;
}

/** Creates one channel's LiveStream, applies its children owned by it, then writes its status once. */
async function replayChannel(client: KubeClient, ch: ChannelReplay): Promise<void> {
  const body = { apiVersion: `${group}/${version}`, kind: 'LiveStream', metadata: { name: ch.name }, spec: ch.spec };
  const created = (await client.custom.createNamespacedCustomObject({
    group,
    version,
    plural,
    namespace: ch.namespace,
    body,
  })) as LiveStream;
  const owner: V1OwnerReference = {
    apiVersion: `${group}/${version}`,
    kind: 'LiveStream',
    name: ch.name,
    uid: created.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
  for (const child of ch.children)
    await client.apply({ ...child, metadata: { ...child.metadata, ownerReferences: [owner] } });
  await client.applyStatus({ group, version, plural, namespace: ch.namespace, name: ch.name }, 'LiveStream', ch.status);
}

/** Replays `channels` in `lanes` concurrent lanes, in order. */
export async function replayFleet(client: KubeClient, channels: ChannelReplay[], lanes: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < channels.length; i = next++) await replayChannel(client, channels[i]!);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

/** How many Deployments of the fleet's namespaces have every replica available (one list of them all). */
export async function availableDeployments(apps: AppsV1Api, inFleet: (namespace: string) => boolean): Promise<number> {
  const list = await apps.listDeploymentForAllNamespaces({ labelSelector: managedBy });
  return list.items.filter(
    (d) =>
      inFleet(d.metadata?.namespace ?? '') &&
      (d.status?.availableReplicas ?? 0) >= (d.spec?.replicas ?? 1) &&
      (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1),
  ).length;
}
