// The channel's Redis credential: the password is made once (random) and then read back from the "<name>-redis"
// Secret the operator applied, so a reconcile never rotates it; the channel's ACL user is asked for with it
// (RedisChannels.want applies it when it differs, and again after every Redis reconnect). The Secret's URL goes to
// the apply-children step in state.redisSecretUrl. A password made here is remembered until the informer shows the
// Secret, so a reconcile that runs before the cache caught up does not make another.
import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { channelPassword, channelRedisUrl, type Channel } from '../../../../contract/src/report-streams.ts';
import { childNames } from '../desired/index.ts';
import { channelOf, redisSecretKey } from '../desired/redis-secret.ts';
import { childResources, type ChildCache } from './children.ts';
import { proceed, type Step } from './step.ts';

export interface RedisCredentialDeps {
  /** The operator's own URL; undefined runs without Redis (no Secret, no user). */
  redisUrl: string | undefined;
  cache: ChildCache;
  /** Applies the channel's ACL user (absent in tests of the Secret alone). */
  channels?: { want(channel: Channel, password: string): void };
  newPassword?: () => string;
}

const secretUrl = (secret: V1Secret | undefined): string | undefined => {
  const b64 = secret?.data?.[redisSecretKey];
  return b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
};

export class RedisCredentials {
  private readonly deps: RedisCredentialDeps;
  /** Passwords made and not yet seen in the cache, by LiveStream key. */
  private readonly made = new Map<string, string>();

  constructor(deps: RedisCredentialDeps) {
    this.deps = deps;
  }

  forget(key: string): void {
    this.made.delete(key);
  }

  step(): Step {
    return {
      name: 'redis-credential',
      run: (state) => {
        const { key, ls } = state;
        const operatorUrl = this.deps.redisUrl;
        if (operatorUrl === undefined) return Promise.resolve(proceed);
        const channel = channelOf(ls);
        const cached = this.deps.cache.child<V1Secret>(
          childResources.secrets,
          channel.namespace,
          childNames(ls).redisSecret,
        );
        const stored = channelPassword(secretUrl(cached), channel);
        if (stored !== undefined) this.made.delete(key);
        const password =
          stored ?? this.made.get(key) ?? this.deps.newPassword?.() ?? randomBytes(32).toString('base64url');
        if (stored === undefined) this.made.set(key, password);
        this.deps.channels?.want(channel, password);
        state.redisSecretUrl = channelRedisUrl(operatorUrl, channel, password);
        return Promise.resolve(proceed);
      },
    };
  }
}
