// Pure builders of the children of a LiveStream: same input, same manifest, no I/O.
export { buildConfigMap, transcoderConfig } from './config-map.ts';
export { defaultRelayResources, defaultTranscoderResources, type BuildContext } from './context.ts';
export { buildDeployment, restartHash, restartHashAnnotation, transcoderResources } from './deployment.ts';
export { childNames, identity, labels, managedBy, ownerReference, selectorLabels } from './metadata.ts';
export {
  buildPodMonitor,
  podMonitorGroup,
  podMonitorPlural,
  podMonitorVersion,
  type PodMonitor,
} from './pod-monitor.ts';
export { buildRedisSecret, redisSecretKey, redisSecretRef } from './redis-secret.ts';
export { buildService } from './service.ts';
export { buildStreamKeySecret, streamKeyPattern } from './stream-key-secret.ts';
export { buildIngestKeysSecret, ingestKeysSecretName, keySetOf } from './ingest-keys-secret.ts';
export { buildFinalizeJob, finalizeComponent, finalizeJobName, sessionAnnotation } from './finalize-job.ts';
export { buildRelayKeysSecret } from './relay-keys-secret.ts';
