// Where the media pods (the transcoder Deployment and the finalize Jobs) run and how their image is pulled: the
// chart-wide defaults (LSO_TRANSCODER_PLACEMENT) with spec.placement over them. A field the LiveStream sets
// replaces the default's field whole (an empty list or map clears it): merging tolerations or affinity terms would
// make a default impossible to drop for the one channel that must not have it.
import type { V1PodSpec } from '@kubernetes/client-node';
import type { ImagePullPolicy, LiveStream, PlacementSpec } from '../../../../contract/src/api/index.ts';

const fields = [
  'nodeSelector',
  'tolerations',
  'affinity',
  'priorityClassName',
  'imagePullSecrets',
  'imagePullPolicy',
] as const satisfies readonly (keyof PlacementSpec)[];

export function effectivePlacement(ls: LiveStream, defaults: PlacementSpec | undefined): PlacementSpec {
  const own = ls.spec.placement ?? {};
  const out: PlacementSpec = {};
  for (const field of fields) {
    const value = own[field] ?? defaults?.[field];
    if (value !== undefined) Object.assign(out, { [field]: structuredClone(value) });
  }
  return out;
}

/** The pod spec fields of a placement; empty values are left out (the API server's defaults apply). */
export function podPlacement(placement: PlacementSpec): Partial<V1PodSpec> {
  const { nodeSelector, tolerations, affinity, priorityClassName, imagePullSecrets } = placement;
  return {
    ...(nodeSelector && Object.keys(nodeSelector).length > 0 ? { nodeSelector: labelMap(nodeSelector) } : {}),
    ...(tolerations && tolerations.length > 0 ? { tolerations } : {}),
    // The affinity terms are core/v1's own; the API server checks them when the Deployment is applied.
    ...(affinity && Object.keys(affinity).length > 0 ? { affinity } : {}),
    ...(priorityClassName ? { priorityClassName } : {}),
    ...(imagePullSecrets && imagePullSecrets.length > 0
      ? { imagePullSecrets: imagePullSecrets.map(({ name }) => ({ name })) }
      : {}),
  };
}

const labelMap = (map: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(map).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])));

/** The containers' imagePullPolicy field, when the placement sets one. */
export function pullPolicy(placement: PlacementSpec): { imagePullPolicy?: ImagePullPolicy } {
  return placement.imagePullPolicy ? { imagePullPolicy: placement.imagePullPolicy } : {};
}
