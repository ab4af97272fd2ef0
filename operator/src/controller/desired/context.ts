// What the builders need besides the LiveStream. The caller (the reconciler) gathers it; the builders stay pure.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { PlacementSpec } from '../../../../contract/src/api/index.ts';

export interface BuildContext {
  /** Image of the transcoder and relay containers (one image, see the pod contract). */
  image: string;
  /** Chart-wide placement of the media pods (LSO_TRANSCODER_PLACEMENT); spec.placement overrides it field by field. */
  placement?: PlacementSpec;
  /**
   * A Secret in the LiveStream's namespace (env vars cannot reference another namespace) with the Redis URL. Absent
   * when the operator runs without Redis: the pods get no URL and discard their reports (nothing references a Secret
   * that is never made, so the pods start).
   */
  redis?: { secretName: string; key: string };
  /** Resources of the relay sidecar; a small default when absent. */
  relayResources?: V1ResourceRequirements;
  /** Extra labels for every child (e.g. from the chart's values); never overrides the app.kubernetes.io ones. */
  extraLabels?: Record<string, string>;
}

/** Transcoder resources when spec.resources is absent: enough for a passthrough 720p ladder at low load. */
export const defaultTranscoderResources: V1ResourceRequirements = {
  requests: { cpu: '500m', memory: '256Mi' },
  limits: { memory: '1Gi' },
};

/** Relay sidecar resources: `ffmpeg -c copy` per target costs little CPU. */
export const defaultRelayResources: V1ResourceRequirements = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { memory: '256Mi' },
};
