// What the controller watches: LiveStreams, and the children the operator labels as its own (label selector, so
// the informers never cache a user's Secrets or unrelated objects). Cluster-wide, or one namespace.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { group, kind, plural, version, type LiveStream } from '../../contract/src/api/index.ts';
import { childResources } from './controller/reconciler.ts';
import { managedBy, podMonitorGroup, podMonitorPlural, podMonitorVersion } from './controller/desired/index.ts';
import { keyOf, ownerKey, type WatchSpec } from './runtime/controller.ts';

export const childSelector = `app.kubernetes.io/managed-by=${managedBy}`;

interface Lister {
  (namespace: string | undefined, labelSelector?: string): Promise<unknown>;
}

/** The watch path of a collection, cluster-wide or in one namespace. */
export function collectionPath(apiPrefix: string, resource: string, namespace: string | undefined): string {
  return namespace ? `${apiPrefix}/namespaces/${namespace}/${resource}` : `${apiPrefix}/${resource}`;
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
    keyFor: keyOf,
  };
  return { primary, secondaries };
}
