// Who may read a namespace's stats, as Kubernetes says: the bearer token goes through a TokenReview, the user it names
// through a SubjectAccessReview for `get livestreams` in that namespace, so tenants see what RBAC gives them.
// Cached like the API server's own webhook authenticator (by a digest of the token, for seconds) so a polling dashboard
// is not two reviews per request; identical lookups in flight share one request. Failing to ask is 'unavailable',
// never 'allowed'. The token is never kept (only its SHA-256) and never logged; user names are logged at debug only.
import { createHash } from 'node:crypto';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  type KubeConfig,
  type V1SubjectAccessReviewSpec,
  type V1SubjectAccessReviewStatus,
  type V1TokenReviewStatus,
} from '@kubernetes/client-node';
import { group, plural } from '../../../contract/src/api/index.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { describeApiError, withSignal } from '../k8s/client.ts';
import type { StatsAuthorizer, StatsDecision } from './authorizer.ts';

/** Longer bearer tokens are refused unread (service account JWTs are ~1 KiB; the API server caps headers too). */
export const maxTokenBytes = 16 * 1024;
/** How long a failed token is remembered at most: short, so a token that has just become valid works soon. */
export const failureTtlMs = 1_500;

export interface KubeStatsAuthorizerOptions {
  /** The operator's own credentials: they need `create` on tokenreviews and subjectaccessreviews. */
  kc: KubeConfig;
  logger: Logger;
  /** Audiences the token must be meant for (TokenReview spec.audiences); the API server's own when omitted. */
  audiences?: string[];
  /** How long an authenticated token and an access decision are reused (default 10 s; failed tokens 1.5 s at most). */
  cacheTtlMs?: number;
  /** The bound on each review call (default 5 s): past it the answer is 'unavailable'. */
  timeoutMs?: number;
  /** Entries per cache before the oldest go (default 10,000). */
  maxEntries?: number;
  now?: () => number;
}

/** Who a token is, as its TokenReview said. */
export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export type Identity =
  { outcome: 'user'; user: ReviewedUser } | Extract<StatsDecision, { outcome: 'unauthenticated' | 'unavailable' }>;

/** Why a presented token is refused without asking the API server, or undefined when it may be reviewed. */
export function tokenProblem(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return 'no bearer token';
  if (token.length > maxTokenBytes) return `the bearer token is longer than ${maxTokenBytes} bytes`;
  // Visible ASCII only: no whitespace, control characters or anything a header could not carry as is.
  if (!/^[\x21-\x7e]+$/.test(token)) return 'the bearer token has whitespace or characters outside visible ASCII';
  return undefined;
}

/** The cache key of a token: its SHA-256, so no map holds the token itself. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The user a TokenReview's status names, or why there is none. */
export function identityOf(status: V1TokenReviewStatus | undefined, audiences?: string[]): Identity {
  const username = status?.user?.username;
  if (!status?.authenticated || !username) return { outcome: 'unauthenticated', message: 'the token is not valid' };
  // The API server answers with the requested audiences the token is meant for: none in common is a refusal.
  if (audiences?.length && !audiences.some((a) => status.audiences?.includes(a))) {
    return { outcome: 'unauthenticated', message: 'the token is not meant for this API (audience)' };
  }
  const { uid, groups, extra } = status.user ?? {};
  return {
    outcome: 'user',
    user: {
      username,
      ...(uid ? { uid } : {}),
      ...(groups ? { groups } : {}),
      ...(extra ? { extra } : {}),
    },
  };
}

/** The SubjectAccessReview that asks whether `user` may get livestreams in `namespace`. */
export function accessReviewSpec(user: ReviewedUser, namespace: string): V1SubjectAccessReviewSpec {
  return {
    user: user.username,
    ...(user.uid ? { uid: user.uid } : {}),
    ...(user.groups ? { groups: user.groups } : {}),
    ...(user.extra ? { extra: user.extra } : {}),
    resourceAttributes: { namespace, verb: 'get', group, resource: plural },
  };
}

/** What a SubjectAccessReview's status means for the stats of `namespace`. */
export function accessDecision(
  user: string,
  namespace: string,
  status: V1SubjectAccessReviewStatus | undefined,
): StatsDecision {
  if (status?.allowed && !status.denied) return { outcome: 'allowed', user };
  const reason = status?.reason ? ` (${status.reason})` : '';
  return {
    outcome: 'forbidden',
    user,
    message: `user "${user}" may not get ${plural}.${group} in namespace "${namespace}"${reason}`,
  };
}

const namespacePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Results by key for a time, at most `maxEntries` (the oldest go first), with concurrent lookups of one key sharing
 * one load. A result whose TTL is 0 is handed to the waiting callers and not kept.
 */
export class ReviewCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<T>>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(maxEntries: number, now: () => number) {
    this.maxEntries = maxEntries;
    this.now = now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The kept result of `key`, else the one in flight, else `load()`'s, kept for `ttlMs(result)`. */
  lookup(key: string, load: () => Promise<T>, ttlMs: (value: T) => number): Promise<T> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.now()) return Promise.resolve(hit.value);
      this.entries.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const loading = load()
      .then((value) => {
        this.keep(key, value, ttlMs(value));
        return value;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, loading);
    return loading;
  }

  private keep(key: string, value: T, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key); // re-inserted last: Map order is age order
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }
}

/** The two reviews, uncached: each answers (an error is 'unavailable', logged without the token) within `timeoutMs`. */
function kubeReviews(kc: KubeConfig, logger: Logger, timeoutMs: number, audiences: string[] | undefined) {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);

  const unavailable = (what: string, err: unknown, token: string): Identity & StatsDecision => {
    // An error body could quote the request: the token is cut out of anything that is logged or answered.
    const detail = describeApiError(err).replaceAll(token, '[token]');
    logger.warn({ err: detail }, `stats: ${what} failed`);
    return { outcome: 'unavailable', message: `the API server could not be asked (${what}: ${detail})` };
  };

  const review = async (token: string): Promise<Identity> => {
    try {
      const answer = await authn.createTokenReview(
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } } },
        withSignal(AbortSignal.timeout(timeoutMs)),
      );
      const identity = identityOf(answer.status, audiences);
      if (identity.outcome !== 'user') logger.debug({ error: answer.status?.error }, 'stats: a token was refused');
      return identity;
    } catch (err) {
      return unavailable('TokenReview', err, token);
    }
  };

  const access = async (user: ReviewedUser, namespace: string, token: string): Promise<StatsDecision> => {
    try {
      const answer = await authz.createSubjectAccessReview(
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: accessReviewSpec(user, namespace),
          },
        },
        withSignal(AbortSignal.timeout(timeoutMs)),
      );
      const decision = accessDecision(user.username, namespace, answer.status);
      logger.debug({ user: user.username, namespace, outcome: decision.outcome }, 'stats: access reviewed');
      return decision;
    } catch (err) {
      return unavailable('SubjectAccessReview', err, token);
    }
  };

  return { review, access, unavailable };
}

export function kubeStatsAuthorizer(options: KubeStatsAuthorizerOptions): StatsAuthorizer {
  const ttlMs = options.cacheTtlMs ?? 10_000;
  const now = options.now ?? Date.now;
  const { review, access, unavailable } = kubeReviews(
    options.kc,
    options.logger,
    options.timeoutMs ?? 5_000,
    options.audiences,
  );
  const identities = new ReviewCache<Identity>(options.maxEntries ?? 10_000, now);
  const decisions = new ReviewCache<StatsDecision>(options.maxEntries ?? 10_000, now);
  // Not being able to ask is never kept: the next request asks again (coalesced with those in flight).
  const identityTtl = (i: Identity) =>
    i.outcome === 'user' ? ttlMs : i.outcome === 'unauthenticated' ? Math.min(failureTtlMs, ttlMs) : 0;
  const decisionTtl = (d: StatsDecision) => (d.outcome === 'unavailable' ? 0 : ttlMs);

  return {
    async authorize(token, namespace) {
      const problem = tokenProblem(token);
      if (problem !== undefined || token === undefined) {
        return { outcome: 'unauthenticated', message: problem ?? 'no bearer token' };
      }
      try {
        const digest = tokenDigest(token);
        const identity = await identities.lookup(digest, () => review(token), identityTtl);
        if (identity.outcome !== 'user') return identity;
        const { username } = identity.user;
        // An empty namespace would ask about every namespace: only a namespace name is asked about.
        if (!namespacePattern.test(namespace)) {
          return { outcome: 'forbidden', user: username, message: `"${namespace}" is not a namespace name` };
        }
        return await decisions.lookup(
          `${digest}/${namespace}`,
          () => access(identity.user, namespace, token),
          decisionTtl,
        );
      } catch (err) {
        return unavailable('the review', err, token);
      }
    },
  };
}
