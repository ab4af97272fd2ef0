// "<name>-reports": the channel's report-log token, in the LiveStream's namespace (a pod's env can only reference a
// Secret of its own namespace). Only when the operator runs without Redis: the pods' report logs then demand it
// (contract/src/report-log.ts), and the poller sends it to the pods of this channel only, so no pod of another
// channel can read this one's reports. Made once and read back on every reconcile (reconcile/report-token.ts).
import type { V1Secret } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import { reportTokenPattern } from '../../../../contract/src/report-log.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, identity } from './metadata.ts';

export const reportTokenSecretKey = 'token';

/** The Secret of the channel named `name` (the poller knows a channel by namespace and name only). */
export const reportTokenSecretName = (name: string): string => `${name}-reports`;

/** Where the pods read the token from: the Secret buildReportTokenSecret makes. */
export function reportTokenSecretRef(ls: LiveStream): { secretName: string; key: string } {
  return { secretName: reportTokenSecretName(identity(ls).name), key: reportTokenSecretKey };
}

/** The token a Secret holds, if it has the shape the operator makes (another value is replaced, never used). */
export function reportTokenOf(secret: V1Secret | undefined): string | undefined {
  const b64 = secret?.data?.[reportTokenSecretKey];
  const token = b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
  return token !== undefined && reportTokenPattern.test(token) ? token : undefined;
}

export function buildReportTokenSecret(
  ls: LiveStream,
  ctx: Pick<BuildContext, 'extraLabels'> & { token: string },
): V1Secret {
  if (!reportTokenPattern.test(ctx.token)) throw new Error('a report token is 43 to 128 base64url characters');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(ls, reportTokenSecretRef(ls).secretName, ctx),
    type: 'Opaque',
    data: { [reportTokenSecretKey]: Buffer.from(ctx.token, 'utf8').toString('base64') },
  };
}
