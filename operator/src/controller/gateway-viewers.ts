// Viewers per channel through the gateway, summed over its replicas: every replica counts its own viewers (the
// channel's origin sees only the gateway) and answers GET /admin/viewers with the admin token
// (contract/src/gateway-admin.ts). This polls each gateway pod at its IP every few seconds (a bounded timeout per
// request; a pod that fails is retried with the project's backoff), keeps each replica's last answer, and sums the
// answers that are fresh: a replica that stopped answering (or was deleted) drops out after staleMs, not at the
// first missed poll, so a slow answer or a rolling update does not make the figure jump down and up again.
// The admin token lives in a Secret the operator makes once when absent (data `token`), as it does the routing
// secret (ADR 0013): the gateway pods mount it, and nothing ever rewrites it.
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import {
  adminTokenFileName,
  adminViewersPath,
  parseAdminToken,
  parseViewersAnswer,
} from '../../../contract/src/gateway-admin.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { channelId } from '../../../contract/src/route-table.ts';
import { describeApiError } from '../k8s/client.ts';
import { readOrMakeSecretValue } from './make-once-secret.ts';

/** One gateway replica to ask: `id` stays the same across polls (the pod's uid), `url` its HTTP base. */
export interface GatewayReplica {
  id: string;
  url: string;
}

/** What one replica said last, and when. */
export interface ReplicaAnswer {
  answeredAtMs: number;
  /** Viewers by channel id ("namespace/name"). */
  viewers: ReadonlyMap<string, number>;
}

export interface ChannelViewerSum {
  namespace: string;
  name: string;
  viewers: number;
}

/** The sum over the replicas whose last answer is younger than staleMs (pure). */
export function sumViewers(answers: Iterable<ReplicaAnswer>, nowMs: number, staleMs: number): Map<string, number> {
  const sums = new Map<string, number>();
  for (const answer of answers) {
    if (nowMs - answer.answeredAtMs >= staleMs) continue;
    for (const [id, n] of answer.viewers) sums.set(id, (sums.get(id) ?? 0) + n);
  }
  return sums;
}

/** The channels whose sum differs between two sums, a channel absent from one counting as 0 there (pure). */
export function changedSums(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>) {
  const changed: ChannelViewerSum[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const viewers = after.get(id) ?? 0;
    if ((before.get(id) ?? 0) === viewers) continue;
    const [namespace = '', name = ''] = id.split('/');
    changed.push({ namespace, name, viewers });
  }
  return changed.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** The gateway pods to ask (pure): those with an IP that run, at their container port named `http`. */
export function gatewayReplicas(pods: Iterable<V1Pod>, defaultPort = 8080): GatewayReplica[] {
  const replicas: GatewayReplica[] = [];
  for (const pod of pods) {
    const uid = pod.metadata?.uid;
    const ip = pod.status?.podIP;
    if (!uid || !ip || pod.status?.phase !== 'Running') continue;
    const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
    const port = ports.find((p) => p.name === 'http')?.containerPort ?? defaultPort;
    replicas.push({ id: uid, url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` });
  }
  return replicas.sort((a, b) => a.id.localeCompare(b.id));
}

/** The gateway pods by their label selector in their namespace, listed afresh for each round. */
export function listGatewayReplicas(
  core: Pick<CoreV1Api, 'listNamespacedPod'>,
  namespace: string,
  labelSelector: string,
): () => Promise<GatewayReplica[]> {
  return async () => gatewayReplicas((await core.listNamespacedPod({ namespace, labelSelector })).items);
}

/** The gateway admin token from the Secret `name` (data `token`), 48 random bytes made once when absent. */
export async function gatewayAdminToken(
  core: Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret'>,
  namespace: string,
  name: string,
  logger: Logger,
): Promise<string> {
  const labels = { 'app.kubernetes.io/part-of': 'livestream-operator', 'app.kubernetes.io/component': 'gateway' };
  const make = () => randomBytes(48).toString('base64url');
  const key = adminTokenFileName;
  return parseAdminToken(await readOrMakeSecretValue(core, { namespace, name, key, labels, make }, logger));
}

export interface GatewayViewersOptions {
  /** The replicas to ask now (e.g. listGatewayReplicas); a failure keeps the previous list for the round. */
  replicas: () => Promise<GatewayReplica[]>;
  /** The admin token (e.g. gatewayAdminToken); asked until it answers once, then kept. */
  token: () => Promise<string>;
  logger: Logger;
  /** Between rounds; default 5 s. */
  intervalMs?: number;
  /** Per request; default 2 s. */
  timeoutMs?: number;
  /** A replica whose last answer is this old counts no more; default 20 s (four missed rounds). */
  staleMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

interface ReplicaState {
  answer: ReplicaAnswer | undefined;
  failures: number;
  nextTryMs: number;
}

type Listener = (changed: ChannelViewerSum[]) => void;
const maxAnswerBytes = 16 * 1024 * 1024;

export class GatewayViewers {
  private readonly opts: Required<Omit<GatewayViewersOptions, 'fetch'>> & { fetch: typeof fetch };
  private readonly replicaStates = new Map<string, ReplicaState>();
  private readonly listeners = new Set<Listener>();
  private sums = new Map<string, number>();
  private known: GatewayReplica[] = [];
  private token: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastProblem = '';

  constructor(options: GatewayViewersOptions) {
    this.opts = {
      intervalMs: 5_000,
      timeoutMs: 2_000,
      staleMs: 20_000,
      now: Date.now,
      ...options,
      fetch: options.fetch ?? fetch,
    };
  }

  /** The channel's viewers over every replica that answered within staleMs; 0 when none counts any. */
  viewersOf(namespace: string, name: string): number {
    return this.sums.get(channelId(namespace, name)) ?? 0;
  }

  /** Every channel with viewers, sorted. */
  channels(): ChannelViewerSum[] {
    return changedSums(new Map(), this.sums);
  }

  /** Called after a round with the channels whose sum changed (to 0 too); returns the unsubscribe. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round now (tests; start() runs them on the interval). */
  async poll(): Promise<void> {
    this.token ??= await this.opts.token().catch((err: unknown) => {
      this.problem(`no admin token: ${describeApiError(err)}`);
      return undefined;
    });
    try {
      this.known = await this.opts.replicas();
    } catch (err) {
      this.problem(`cannot list the gateway pods: ${describeApiError(err)}`);
    }
    const token = this.token;
    if (token !== undefined) await Promise.all(this.known.map((r) => this.ask(r, token)));
    this.settle();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().finally(() => {
        this.running = undefined;
        this.schedule(this.opts.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async ask(replica: GatewayReplica, token: string): Promise<void> {
    const state = this.replicaStates.get(replica.id) ?? { answer: undefined, failures: 0, nextTryMs: 0 };
    this.replicaStates.set(replica.id, state);
    if (this.opts.now() < state.nextTryMs) return;
    try {
      const res = await this.opts.fetch(replica.url + adminViewersPath, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const text = await res.text();
      // A token refused: read it again next round (a hand-rotated Secret), the mount follows within a minute.
      if (res.status === 401) this.token = undefined;
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      if (text.length > maxAnswerBytes) throw new Error('the answer is too large');
      const answer = parseViewersAnswer(JSON.parse(text));
      const viewers = new Map(answer.channels.map((c) => [channelId(c.namespace, c.name), c.viewers]));
      state.answer = { answeredAtMs: this.opts.now(), viewers };
      state.failures = 0;
      state.nextTryMs = 0;
    } catch (err) {
      state.failures++;
      const delay = backoffDelay(state.failures, { baseMs: this.opts.intervalMs, maxMs: 60_000, jitter: 0.2 });
      state.nextTryMs = this.opts.now() + delay;
      // The URL names a pod IP and the path, never the token.
      this.problem(`gateway replica ${replica.url} did not answer: ${(err as Error).message}`);
    }
  }

  private settle(): void {
    const now = this.opts.now();
    const listed = new Set(this.known.map((r) => r.id));
    for (const [id, state] of this.replicaStates) {
      const stale = !state.answer || now - state.answer.answeredAtMs >= this.opts.staleMs;
      if (!listed.has(id) && stale) this.replicaStates.delete(id);
    }
    const answers = [...this.replicaStates.values()].flatMap((s) => (s.answer ? [s.answer] : []));
    const sums = sumViewers(answers, now, this.opts.staleMs);
    const changed = changedSums(this.sums, sums);
    this.sums = sums;
    if (changed.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(changed);
      } catch (err) {
        this.opts.logger.error({ err: (err as Error).message }, 'a gateway viewers listener failed');
      }
    }
  }

  // Logged once per distinct problem, not once per round.
  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.opts.logger.warn({ err: message }, 'gateway viewers');
  }
}
