// Names, labels and owner references shared by every child of a LiveStream.
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { apiVersion, kind, streamKeySecretName, type LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';

export const managedBy = 'livestream-operator';

/** Name, namespace and uid of a stored LiveStream; children can only be built from one read from the API server. */
export function identity(ls: LiveStream): { name: string; namespace: string; uid: string } {
  const { name, namespace, uid } = ls.metadata;
  if (!name || !namespace || !uid) {
    throw new Error(
      `LiveStream ${namespace ?? '?'}/${name ?? '?'} lacks name, namespace or uid; build from a stored object`,
    );
  }
  return { name, namespace, uid };
}

/** Names of the children of a LiveStream. */
export function childNames(ls: LiveStream) {
  const { name } = identity(ls);
  return {
    /** The Secret the transcoder reads the stream key from: spec.streamKey.secretRef.name or the generated one. */
    streamKeySecret: streamKeySecretName(ls),
    /** The Secret the operator generates when spec.streamKey is absent. */
    generatedStreamKeySecret: `${name}-stream-key`,
    redisSecret: `${name}-redis`,
    /** The operator's copy of every relay's key, mounted whole so adding a relay never changes the pod. */
    relayKeysSecret: `${name}-relay-keys`,
    configMap: `${name}-config`,
    deployment: `${name}-transcoder`,
    service: name,
    podMonitor: name,
  };
}

/** The labels that select the transcoder pod (Deployment selector, Service, PodMonitor). Immutable once applied. */
export function selectorLabels(ls: LiveStream): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'livestream',
    'app.kubernetes.io/instance': identity(ls).name,
    'app.kubernetes.io/component': 'transcoder',
  };
}

export function labels(ls: LiveStream, ctx: Pick<BuildContext, 'extraLabels'>): Record<string, string> {
  return { ...ctx.extraLabels, ...selectorLabels(ls), 'app.kubernetes.io/managed-by': managedBy };
}

/** Makes the LiveStream the controller of a child: garbage-collected with it, and mapped back to it by informers. */
export function ownerReference(ls: LiveStream): V1OwnerReference {
  const { name, uid } = identity(ls);
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** Metadata of a child in the LiveStream's namespace. */
export function childMetadata(ls: LiveStream, name: string, ctx: Pick<BuildContext, 'extraLabels'>): V1ObjectMeta {
  return {
    name,
    namespace: identity(ls).namespace,
    labels: labels(ls, ctx),
    ownerReferences: [ownerReference(ls)],
  };
}
