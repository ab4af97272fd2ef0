// What the end-to-end files check of media in the cluster, each once: the frames an RTMP receiver pod
// (hack/stack/manifests.ts receiverObjects) has taken, and a bucket on the MinIO Service of the test namespace.
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Credentials } from '../../hack/stack/manifests.ts';
import { createBucket } from './s3-server.ts';
import type { TestCluster } from './test-namespace.ts';
import { waitFor } from './wait-for.ts';

/**
 * Waits until receiver `name`'s ffmpeg has taken at least `min` frames (its progress lines `frame=N`), and its log
 * holds `logIncludes` when given; resolves with the last count.
 */
export function receiverFrames(
  cluster: TestCluster,
  name: string,
  options: { min: number; logIncludes?: string },
): Promise<number> {
  return waitFor(
    `${name} to receive ${options.min} frames`,
    async () => {
      const log = await cluster.kubectl(['logs', '-n', cluster.namespace, `deployment/${name}`]);
      const last = [...log.matchAll(/^frame=(\d+)$/gm)].map((m) => Number(m[1])).at(-1) ?? 0;
      const named = options.logIncludes === undefined || log.includes(options.logIncludes);
      return named && last >= options.min ? last : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
}

/**
 * A public-read bucket (ffprobe plays a VOD by URL, segments by relative URLs, as a CDN in front would) on the
 * MinIO Service at `endpoint`. Ready pods reach kube-proxy's rules a moment later: until then the Service refuses
 * connections, so the creation is retried.
 */
export async function publicBucket(endpoint: string, credentials: S3Credentials, bucket: string): Promise<S3Client> {
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  await waitFor(
    'the bucket created through the MinIO Service',
    async () => {
      await createBucket(s3, bucket, { publicRead: true });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
  return s3;
}
