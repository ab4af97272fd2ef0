// The channel's report-log token, only without Redis: made once (random) and then read back from the
// "<name>-reports" Secret the operator applied, so a reconcile never rotates it (the pods read it from their env at
// start). A token made here is remembered until the informer shows the Secret, so a reconcile that runs before the
// cache caught up does not make another. The step applies the Secret before apply-children applies the Deployment
// that references it, so the pod never waits for a Secret that is not there.
// The poller reads the token from the same cache (reportTokenLookup): the operator's informer of its own labelled
// Secrets, never a read of its own per poll.
import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { KubeClient } from '../../k8s/client.ts';
import { needsApply, withDesiredHash } from '../../k8s/semantic.ts';
import { splitKey } from '../../runtime/controller.ts';
import { identity } from '../desired/index.ts';
import { buildReportTokenSecret, reportTokenOf, reportTokenSecretName } from '../desired/report-token-secret.ts';
import { childResources, type ChildCache } from './children.ts';
import { proceed, type Step } from './step.ts';

export interface ReportTokenDeps {
  /** The operator's Redis URL; defined: reports go through Redis, no log is served and no token made. */
  redisUrl: string | undefined;
  cache: ChildCache;
  client: Pick<KubeClient, 'apply'>;
  newToken?: () => string;
}

/** The token of the channel `namespace/name` as the cache shows it; undefined: none (yet), or not one of ours. */
export function reportTokenLookup(cache: ChildCache): (key: string) => string | undefined {
  return (key) => {
    const { namespace, name } = splitKey(key);
    return reportTokenOf(cache.child<V1Secret>(childResources.secrets, namespace, reportTokenSecretName(name)));
  };
}

export class ReportTokens {
  private readonly deps: ReportTokenDeps;
  /** Tokens made and not yet seen in the cache, by LiveStream key. */
  private readonly made = new Map<string, string>();

  constructor(deps: ReportTokenDeps) {
    this.deps = deps;
  }

  forget(key: string): void {
    this.made.delete(key);
  }

  step(): Step {
    return {
      name: 'report-token',
      applies: true,
      run: async (state) => {
        const { key, ls, build } = state;
        if (this.deps.redisUrl !== undefined) return proceed;
        const { namespace, name } = identity(ls);
        const cached = this.deps.cache.child<V1Secret>(childResources.secrets, namespace, reportTokenSecretName(name));
        const stored = reportTokenOf(cached);
        if (stored !== undefined) this.made.delete(key);
        const token = stored ?? this.made.get(key) ?? this.deps.newToken?.() ?? randomBytes(32).toString('base64url');
        if (stored === undefined) this.made.set(key, token);
        const desired = withDesiredHash(buildReportTokenSecret(ls, { ...build, token }));
        if (needsApply(desired, cached)) await this.deps.client.apply(desired);
        return proceed;
      },
    };
  }
}
