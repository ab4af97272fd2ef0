// The poller's pure parts (cursor, backoff, reasons, pod targets) and its fold, with a fake fetch: no network.
import type { V1Pod } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeEvent, type EventDataByType, type EventType } from '../../../contract/src/reports.ts';
import { maxReportLogResponseBytes, type ReportLogPage } from '../../../contract/src/report-log.ts';
import {
  afterFailure,
  afterPage,
  dueEndpoints,
  newEndpointState,
  pollBackoff,
  unreachableReason,
  type EndpointState,
  type ReportEndpoint,
} from './report-poller-cursor.ts';
import { podReportTargets } from './report-poller-pods.ts';
import { inParallel, ReportPoller } from './report-poller.ts';

const logger = pino({ level: 'silent' });
const page = (over: Partial<ReportLogPage> = {}): ReportLogPage => ({
  boot: 'b1',
  through: 0,
  missed: 0,
  more: false,
  entries: [],
  ...over,
});

describe('endpoint cursor', () => {
  it('moves to what a page covered; asks again at once while there is more; notices a restarted container', () => {
    const start = newEndpointState(0);
    const first = afterPage(start, page({ through: 12 }), 1_000, 2_000);
    expect(first).toEqual({
      state: { cursor: { boot: 'b1', after: 12 }, failures: 0, nextAt: 3_000 },
      restarted: false,
    });
    expect(afterPage(first.state, page({ through: 20, more: true }), 3_000, 2_000).state.nextAt).toBe(3_000);
    const restarted = afterPage(first.state, page({ boot: 'b2', through: 3 }), 3_000, 2_000);
    expect(restarted.restarted).toBe(true);
    expect(restarted.state.cursor).toEqual({ boot: 'b2', after: 3 });
  });

  it('backs off a failing endpoint, never sooner than the interval nor later than the cap, and keeps its cursor', () => {
    let s: EndpointState = { ...newEndpointState(0), cursor: { boot: 'b', after: 7 } };
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const now = 10_000 * i;
      s = afterFailure(s, 'connect ECONNREFUSED', now, 2_000, () => 0);
      waits.push(s.nextAt - now);
      expect(s.cursor).toEqual({ boot: 'b', after: 7 });
      expect(s.failingSince).toBe(0);
    }
    expect(waits.slice(0, 3)).toEqual([2_000, 2_000, 4_000]);
    expect(Math.max(...waits)).toBe(pollBackoff.maxMs);
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1]!);
    expect(s.failures).toBe(12);
    // A page ends the streak.
    expect(afterPage(s, page({ through: 9 }), 200_000, 2_000).state.failures).toBe(0);
  });

  it('lists the due endpoints, new ones first', () => {
    const endpoints = ['a', 'b', 'c'].map((id) => ({ id, url: `http://${id}` }));
    const states = new Map<string, EndpointState>([
      ['a', { ...newEndpointState(0), nextAt: 500 }],
      ['b', { ...newEndpointState(0), nextAt: 1_500 }],
    ]);
    expect(dueEndpoints(endpoints, (id) => states.get(id), 1_000).map((e) => e.id)).toEqual(['c', 'a']);
  });

  it('says which endpoints fail, why and since when; nothing when none does', () => {
    const endpoints = [
      { id: 'p/transcoder', url: 'http://10.0.0.5:8082' },
      { id: 'p/relay', url: 'http://10.0.0.5:8081' },
    ];
    const failing = afterFailure(newEndpointState(0), 'HTTP 404', Date.parse('2026-12-01T10:00:00Z'), 2_000);
    const states = new Map([['p/relay', failing]]);
    expect(unreachableReason(endpoints, (id) => states.get(id))).toBe(
      'cannot read the transcoder reports from http://10.0.0.5:8081: HTTP 404 (since 2026-12-01T10:00:00Z)',
    );
    expect(unreachableReason(endpoints, () => newEndpointState(0))).toBeUndefined();
  });
});

describe('podReportTargets', () => {
  const pod = (name: string, over: { ip?: string; phase?: string; instance?: string; namespace?: string } = {}) =>
    ({
      metadata: {
        name,
        uid: `uid-${name}`,
        namespace: over.namespace ?? 'media',
        labels: over.instance === '' ? {} : { 'app.kubernetes.io/instance': over.instance ?? 'news' },
      },
      status: { podIP: over.ip, phase: over.phase ?? 'Running' },
    }) as V1Pod;

  it('gives every pod with an IP that has not ended an endpoint per container, under its namespace and instance', () => {
    const targets = podReportTargets(
      [
        pod('a', { ip: '10.0.0.5' }),
        pod('b', { ip: 'fd00::7', phase: 'Pending' }), // a second pod of the channel (a rollout), IPv6
        pod('c', { ip: '10.0.0.6', namespace: 'other' }),
        pod('no-ip'),
        pod('done', { ip: '10.0.0.8', phase: 'Succeeded' }),
        pod('failed', { ip: '10.0.0.9', phase: 'Failed' }),
        pod('unlabelled', { ip: '10.0.0.10', instance: '' }),
      ],
      { transcoder: 8082, relay: 8081 },
    );
    expect(Object.fromEntries(targets)).toEqual({
      'media/news': [
        { id: 'uid-a/transcoder', url: 'http://10.0.0.5:8082' },
        { id: 'uid-a/relay', url: 'http://10.0.0.5:8081' },
        { id: 'uid-b/transcoder', url: 'http://[fd00::7]:8082' },
        { id: 'uid-b/relay', url: 'http://[fd00::7]:8081' },
      ],
      'other/news': [
        { id: 'uid-c/transcoder', url: 'http://10.0.0.6:8082' },
        { id: 'uid-c/relay', url: 'http://10.0.0.6:8081' },
      ],
    });
  });
});

describe('inParallel', () => {
  it('runs every item, never more than the limit at once, whatever fails', async () => {
    for (const [items, limit] of [
      [0, 3],
      [1, 3],
      [10, 3],
      [7, 1],
      [5, 10],
    ] as const) {
      let running = 0;
      let peak = 0;
      const done: number[] = [];
      await inParallel(
        Array.from({ length: items }, (_, i) => i),
        limit,
        async (i) => {
          peak = Math.max(peak, ++running);
          await new Promise((r) => setTimeout(r, 1 + (i % 3)));
          running--;
          done.push(i);
          if (i % 2) throw new Error('boom');
        },
      );
      expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: items }, (_, i) => i));
      expect(peak).toBeLessThanOrEqual(limit);
    }
  });
});

/** A fake pod: its containers' logs as pages, answered by a fetch that records what was asked. Each container
 * answers only the bearer token set for it in `tokens` (by origin), as the real ones do. */
class FakePods {
  readonly asked: string[] = [];
  readonly tokens = new Map<string, string>();
  /** The Authorization headers each origin received. */
  readonly authorizations = new Map<string, Set<string>>();
  readonly logs = new Map<string, { boot: string; entries: string[][] }>();
  failing = new Map<string, () => Response | Promise<Response>>();
  private seq = new Map<string, number>();
  private clock = 0;

  entry<T extends EventType>(url: string, type: T, data: EventDataByType[T], session = 's1', claims = 'media/news') {
    const log = this.logs.get(url) ?? { boot: 'b1', entries: [] };
    const seq = (this.seq.get(url) ?? 0) + 1;
    this.seq.set(url, seq);
    const [namespace = '', name = ''] = claims.split('/');
    log.entries.push(encodeEvent({ type, namespace, name, session, seq, ts: (this.clock += 1_000), data }));
    this.logs.set(url, log);
  }

  restart(url: string, boot: string): void {
    this.logs.set(url, { boot, entries: [] });
    this.seq.set(url, 0);
  }

  readonly fetch = (async (input: string | URL, init?: RequestInit) => {
    const url = new URL(input);
    this.asked.push(`${url.origin}${url.pathname}?${url.searchParams.toString()}`);
    const authorization = new Headers(init?.headers).get('authorization') ?? '';
    this.authorizations.set(url.origin, (this.authorizations.get(url.origin) ?? new Set()).add(authorization));
    if (authorization !== `Bearer ${this.tokens.get(url.origin) ?? ''}`) return new Response('', { status: 401 });
    const fail = this.failing.get(url.origin);
    if (fail) return fail();
    const log = this.logs.get(url.origin) ?? { boot: 'b1', entries: [] };
    const sameBoot = url.searchParams.get('boot') === log.boot;
    const after = sameBoot ? Number(url.searchParams.get('after')) : 0;
    const entries = log.entries.slice(after, after + 2);
    const body: ReportLogPage = {
      boot: log.boot,
      through: after + entries.length,
      missed: 0,
      more: after + entries.length < log.entries.length,
      entries,
    };
    return new Response(JSON.stringify(body));
  }) as typeof fetch;
}

const transcoder = 'http://10.0.0.5:8082';
const relay = 'http://10.0.0.5:8081';
const endpoints: ReportEndpoint[] = [
  { id: 'p/transcoder', url: transcoder },
  { id: 'p/relay', url: relay },
];
const heartbeat: EventDataByType['heartbeat'] = {
  state: 'live',
  bitrateKbps: 800,
  fps: 30,
  width: 640,
  height: 360,
  viewers: 1,
  bytesIn: 100,
  segments: { '360p': 2 },
};

const newsToken = 'news-token-0123456789abcdefghijklmnopqrstuvwx';

function setup(
  targets = new Map([['media/news', endpoints]]),
  tokens = new Map([['media/news', newsToken]]),
  log = logger,
) {
  const pods = new FakePods();
  for (const { url } of endpoints) pods.tokens.set(url, newsToken);
  let now = 0;
  const reports: string[] = [];
  const invalid: string[] = [];
  const poller = new ReportPoller({
    targets: { targets: () => targets },
    reportToken: (key) => tokens.get(key),
    logger: log,
    onReport: (key, transition, event) => reports.push(`${key} ${event.type} ${transition.kind}`),
    invalidReports: { inc: ({ type }) => invalid.push(type) },
    fetch: pods.fetch,
    now: () => now,
  });
  return { pods, poller, reports, invalid, advance: (ms: number) => (now += ms), targets, tokens };
}

describe('ReportPoller', () => {
  it("folds both containers' reports into the polled channel, page after page, each entry once", async () => {
    const { pods, poller, reports } = setup();
    pods.entry(transcoder, 'publish-started', { resumed: false });
    pods.entry(transcoder, 'heartbeat', heartbeat);
    pods.entry(transcoder, 'heartbeat', heartbeat);
    pods.entry(relay, 'relay-heartbeat', { relays: [] });
    await poller.pollOnce();
    // Two entries a page here: the transcoder's third entry comes in the next round, at once.
    expect(reports).toEqual([
      'media/news publish-started started',
      'media/news heartbeat none',
      'media/news relay-heartbeat none',
    ]);
    await poller.pollOnce();
    expect(reports).toHaveLength(4);
    expect(poller.observation('media/news')).toMatchObject({ state: 'live', session: 's1', lastSeq: 3 });
    expect(pods.asked.at(-1)).toBe(`${transcoder}/reports?after=2&limit=500&boot=b1`);
    // Nothing new: nothing asked before the interval, nothing folded after it.
    await poller.pollOnce();
    expect(reports).toHaveLength(4);
    expect(poller.connected).toBe(false); // not started: the rounds here are driven by the test
  });

  it('takes the channel from the pod it asked: an entry claiming another LiveStream is counted and not folded', async () => {
    const { pods, poller, reports, invalid, advance } = setup();
    pods.entry(
      transcoder,
      'session-ended',
      { duration: 1, bytesIn: 1, peakViewers: 0, reason: 'shutdown' },
      's9',
      'bank/vault',
    );
    pods.entry(transcoder, 'publish-started', { resumed: false }, 's1', 'media/news-2');
    pods.entry(transcoder, 'heartbeat', heartbeat);
    for (let i = 0; i < 3; i++) {
      await poller.pollOnce();
      advance(2_000);
    }
    expect(invalid).toEqual(['session-ended', 'publish-started']);
    expect(reports).toEqual(['media/news heartbeat none']);
    expect(poller.observation('bank/vault')).toBeUndefined();
    expect(poller.observation('media/news-2')).toBeUndefined();
  });

  it('reads a restarted container from the start of its new log', async () => {
    const { pods, poller, reports, advance } = setup();
    pods.entry(transcoder, 'heartbeat', heartbeat);
    pods.entry(transcoder, 'heartbeat', heartbeat);
    await poller.pollOnce();
    pods.restart(transcoder, 'b2');
    pods.entry(transcoder, 'heartbeat', { ...heartbeat, state: 'idle' }, '');
    advance(2_000);
    await poller.pollOnce();
    expect(pods.asked.filter((u) => u.startsWith(transcoder)).at(-1)).toBe(
      `${transcoder}/reports?after=2&limit=500&boot=b1`,
    );
    expect(reports).toHaveLength(3);
    expect(poller.observation('media/news')).toMatchObject({ state: 'idle' });
  });

  it.each([
    [
      'refused',
      () => Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })),
      /fetch failed: connect ECONNREFUSED/,
    ],
    ['a 404', () => new Response('no', { status: 404 }), /HTTP 404/],
    ['not JSON', () => new Response('{"stream key": "abc'), /the response is not JSON \(since/],
    ['not a page', () => new Response('{"boot": 3}'), /not a report log page: boot/],
    ['too large', () => new Response('x'.repeat(maxReportLogResponseBytes + 1)), /exceeds/],
  ])(
    'an endpoint answering %s is unreachable with its reason, backed off, and read again once it answers',
    async (_what, answer, reason) => {
      const { pods, poller, reports, advance } = setup();
      pods.entry(relay, 'relay-heartbeat', { relays: [] });
      pods.failing.set(relay, answer);
      await poller.pollOnce();
      expect(poller.unreachable('media/news')).toMatch(reason);
      expect(poller.unreachable('media/news')).toContain(relay);
      expect(poller.unreachable('media/news')).not.toContain('abc');
      const asks = pods.asked.length;
      advance(1_000);
      await poller.pollOnce(); // neither endpoint is due yet
      expect(pods.asked.length).toBe(asks);
      pods.failing.clear();
      advance(60_000);
      await poller.pollOnce();
      expect(poller.unreachable('media/news')).toBeUndefined();
      expect(reports).toEqual(['media/news relay-heartbeat none']);
    },
  );

  it('sends each channel’s own token to its pods only, in the Authorization header, never in a URL', async () => {
    const vault = 'http://10.0.0.7:8082';
    const vaultToken = 'vault-token-0123456789abcdefghijklmnopqrstuv';
    const { pods, poller, reports } = setup(
      new Map([
        ['media/news', endpoints],
        ['bank/vault', [{ id: 'v/transcoder', url: vault }]],
      ]),
      new Map([
        ['media/news', newsToken],
        ['bank/vault', vaultToken],
      ]),
    );
    pods.tokens.set(vault, vaultToken);
    pods.entry(transcoder, 'heartbeat', heartbeat);
    pods.entry(vault, 'heartbeat', heartbeat, 's1', 'bank/vault');
    await poller.pollOnce();
    expect(reports.sort()).toEqual(['bank/vault heartbeat none', 'media/news heartbeat none']);
    expect(Object.fromEntries([...pods.authorizations].map(([origin, seen]) => [origin, [...seen]]))).toEqual({
      [transcoder]: [`Bearer ${newsToken}`],
      [relay]: [`Bearer ${newsToken}`],
      [vault]: [`Bearer ${vaultToken}`],
    });
    for (const url of pods.asked) for (const t of [newsToken, vaultToken]) expect(url).not.toContain(t);
    expect(poller.unreachable('media/news')).toBeUndefined();
  });

  it('asks no pod of a channel without a token, says why, and reads it once the token is there', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const { pods, poller, reports, tokens, advance } = setup(undefined, new Map(), log);
    pods.entry(transcoder, 'heartbeat', heartbeat);
    await poller.pollOnce();
    await poller.pollOnce();
    expect(pods.asked).toEqual([]);
    expect(poller.unreachable('media/news')).toBe(
      "no report token for media/news: the operator's Secret news-reports is not in its cache yet",
    );
    expect(lines.filter((l) => l.includes('no report token'))).toHaveLength(1); // once, not every round
    tokens.set('media/news', newsToken);
    advance(2_000);
    await poller.pollOnce();
    expect(reports).toEqual(['media/news heartbeat none']);
    expect(poller.unreachable('media/news')).toBeUndefined();
    expect(poller.unreachable('media/other')).toBeUndefined(); // no pods: nothing to say
  });

  it('a pod that refuses the token is unreachable with that reason, and the token is in no reason or log', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const { pods, poller } = setup(undefined, undefined, log);
    pods.tokens.set(transcoder, 'the-pod-started-with-an-older-token-0123456');
    await poller.pollOnce();
    const reason = poller.unreachable('media/news');
    expect(reason).toContain(`${transcoder}: HTTP 401: the pod refused the channel’s report token`);
    expect(reason).not.toContain(relay); // the relay has the token
    expect(reason).not.toContain(newsToken);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(newsToken);
  });

  it('offers the consumer interface: no acks, seed only before reports, expire after the TTL, forget', async () => {
    const { pods, poller } = setup();
    expect(poller.pendingIds()).toEqual([]);
    await poller.ack();
    pods.entry(transcoder, 'publish-started', { resumed: false });
    await poller.pollOnce();
    const folded = poller.observation('media/news');
    poller.seed('media/news', { ...folded!, session: 'from-status' });
    expect(poller.observation('media/news')?.session).toBe('s1');
    expect(poller.expire('media/news', 1_000 + 10_000, 15_000)).toEqual({ kind: 'none' });
    const lost = poller.expire('media/news', 1_000 + 16_000, 15_000);
    expect(lost).toMatchObject({ kind: 'ended', summary: { id: 's1', endReason: 'TranscoderLost' } });
    await poller.forget('media/news');
    expect(poller.observation('media/news')).toBeUndefined();
    expect(poller.expire('media/news', 0, 1)).toEqual({ kind: 'none' });
  });

  it('polls pods as they come and go, and drops the cursors of those gone', async () => {
    const targets = new Map<string, ReportEndpoint[]>();
    const { pods, poller, reports, advance } = setup(targets);
    pods.entry(transcoder, 'heartbeat', heartbeat);
    await poller.pollOnce();
    expect(pods.asked).toEqual([]);
    targets.set('media/news', [endpoints[0]!]);
    await poller.pollOnce();
    expect(reports).toHaveLength(1);
    targets.delete('media/news');
    advance(2_000);
    await poller.pollOnce();
    // Back with the same id (the informer relisted): a fresh cursor, so its log is read from the start again.
    targets.set('media/news', [endpoints[0]!]);
    await poller.pollOnce();
    expect(pods.asked.at(-1)).toBe(`${transcoder}/reports?after=0&limit=500`);
  });

  it('runs rounds once started, and stops', async () => {
    const pods = new FakePods();
    pods.tokens.set(transcoder, newsToken);
    const reports: string[] = [];
    const lifecycle: string[] = [];
    const poller = new ReportPoller({
      targets: {
        targets: () => new Map([['media/news', endpoints]]),
        start: () => lifecycle.push('start'),
        stop: () => (lifecycle.push('stop'), Promise.resolve()),
      },
      reportToken: () => newsToken,
      logger,
      onReport: (key) => reports.push(key),
      fetch: pods.fetch,
      intervalMs: 30,
    });
    poller.start();
    expect(poller.connected).toBe(true);
    pods.entry(transcoder, 'heartbeat', heartbeat);
    await new Promise((r) => setTimeout(r, 200));
    await poller.stop();
    expect(reports).toEqual(['media/news']);
    expect(poller.connected).toBe(false);
    expect(lifecycle).toEqual(['start', 'stop']);
  });
});
