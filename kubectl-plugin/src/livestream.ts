// Reading and patching one LiveStream (group streaming.livestream-operator.dev, v1alpha1, livestreams).
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { group, plural, version, type LiveStream } from '../../contract/src/api/index.ts';
import { CommandError, apiErrorMessage, isNotFound, type Cluster } from './kube.ts';

export async function getLiveStream(cluster: Cluster, name: string): Promise<LiveStream> {
  const { namespace } = cluster;
  try {
    return (await cluster
      .custom()
      .getNamespacedCustomObject({ group, version, plural, namespace, name })) as LiveStream;
  } catch (err) {
    if (isNotFound(err)) throw new CommandError(`livestream ${name} not found in namespace ${namespace}`);
    throw new CommandError(`cannot read livestream ${namespace}/${name}: ${apiErrorMessage(err)}`);
  }
}

/** A JSON merge patch of the LiveStream (the fields named, nothing else). */
export async function mergePatchLiveStream(cluster: Cluster, name: string, body: object): Promise<LiveStream> {
  const { namespace } = cluster;
  try {
    return (await cluster
      .custom()
      .patchNamespacedCustomObject(
        { group, version, plural, namespace, name, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as LiveStream;
  } catch (err) {
    throw new CommandError(`cannot patch livestream ${namespace}/${name}: ${apiErrorMessage(err)}`);
  }
}
