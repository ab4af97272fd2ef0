// "<name>-config": the LiveStream as the transcoder and relay read it (livestream.json, hot-reloaded). Only the
// identity and the spec: no status (it changes every few seconds and would churn the file), no managedFields,
// labels or annotations.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { apiVersion, kind, type LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, childNames, identity } from './metadata.ts';
import { configFileName } from '../../../../contract/src/pod-contract.ts';

/** The document the pod reads: `{apiVersion, kind, metadata: {name, namespace, uid, generation}, spec}`. */
export function transcoderConfig(ls: LiveStream) {
  const { name, namespace, uid } = identity(ls);
  return {
    apiVersion,
    kind,
    metadata: { name, namespace, uid, generation: ls.metadata.generation ?? 0 },
    spec: ls.spec,
  };
}

export function buildConfigMap(ls: LiveStream, ctx: Pick<BuildContext, 'extraLabels'>): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMetadata(ls, childNames(ls).configMap, ctx),
    data: { [configFileName]: `${JSON.stringify(transcoderConfig(ls), null, 2)}\n` },
  };
}
