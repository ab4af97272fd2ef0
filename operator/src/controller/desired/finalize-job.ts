// "<name>-rec-<hash>": the Job that finalizes one recorded session (VOD playlist + MP4 in S3), run with the
// transcoder image. Its name is derived from the session, so creating it twice is impossible and a retry after an
// operator restart finds the same Job. It needs S3 credentials only: no stream key, no API token.
import { createHash } from 'node:crypto';
import type { V1Job } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { containerSecurityContext, podSecurityContext, s3CredentialsVolume } from './deployment.ts';
import { childMetadata, identity, labels } from './metadata.ts';
import { effectivePlacement, podPlacement, pullPolicy } from './placement.ts';
import * as contract from '../../../../contract/src/pod-contract.ts';

export const sessionAnnotation = 'streaming.livestream-operator.dev/session';
export const finalizeComponent = 'recording-finalizer';

export function finalizeJobName(ls: LiveStream, session: string): string {
  return `${identity(ls).name}-rec-${createHash('sha256').update(session).digest('hex').slice(0, 8)}`;
}

export function buildFinalizeJob(
  ls: LiveStream,
  session: string,
  ctx: Pick<BuildContext, 'image' | 'placement' | 'extraLabels'>,
): V1Job {
  // Not `enabled`: a session recorded before recording was turned off is still finalized.
  const s3 = ls.spec.recording?.s3;
  const credentials = s3?.credentialsSecretRef;
  if (!s3 || !credentials) throw new Error('finalize Jobs need spec.recording.s3 with its credentials');
  const { name, namespace } = identity(ls);
  const placement = effectivePlacement(ls, ctx.placement);
  const podLabels = { ...labels(ls, ctx), 'app.kubernetes.io/component': finalizeComponent };
  const metadata = childMetadata(ls, finalizeJobName(ls, session), ctx);
  const { env: names } = contract;
  const env = [
    { name: names.s3Bucket, value: s3.bucket },
    { name: names.s3Prefix, value: s3.prefix ?? '' },
    ...(s3.endpoint ? [{ name: names.s3Endpoint, value: s3.endpoint }] : []),
    { name: names.s3Region, value: s3.region ?? 'us-east-1' },
    { name: names.s3ForcePathStyle, value: String(s3.forcePathStyle === true) },
    { name: names.s3CredentialsDir, value: contract.s3CredentialsDir },
    { name: names.namespace, value: namespace },
    { name: names.name, value: name },
    { name: names.session, value: session },
    { name: 'HOME', value: contract.tmpDir },
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      ...metadata,
      labels: podLabels,
      annotations: { [sessionAnnotation]: session },
    },
    spec: {
      backoffLimit: 4,
      // A stuck upload must not hold the Job forever; the operator reports Failed and the spool keeps the segments.
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      template: {
        metadata: { labels: podLabels, annotations: { [sessionAnnotation]: session } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          // Where the channel's media pods run, with their registry credentials: the same image is pulled.
          ...podPlacement(placement),
          containers: [
            {
              name: contract.containerNames.finalize,
              image: ctx.image,
              ...pullPolicy(placement),
              workingDir: contract.workingDir,
              command: contract.finalizeCommand,
              env,
              resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              volumeMounts: [
                { name: 's3-credentials', mountPath: contract.s3CredentialsDir, readOnly: true },
                { name: 'work', mountPath: contract.tmpDir },
              ],
              securityContext: containerSecurityContext(),
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes: [
            s3CredentialsVolume('s3-credentials', credentials, false),
            // The session's segments and the MP4 are written here: about twice the session's size.
            { name: 'work', emptyDir: { sizeLimit: '8Gi' } },
          ],
        },
      },
    },
  };
}
