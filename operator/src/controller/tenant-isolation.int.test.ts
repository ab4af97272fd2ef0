// Issue 13, "tenants cannot spoof each other": a real kube-apiserver, a real redis-server protected like the chart's,
// and the real operator, one per namespace (each watching its own, both on the same Redis, as two installations
// would). Namespace A's pods get A's "<name>-redis" Secret: with that credential one can XADD to A's stream and do
// nothing else, neither to B's stream nor to A's own beyond XADD; a report in A's stream that claims B never reaches
// B's status and is counted as invalid; A's own reports still fold into A's status. A deleted LiveStream's user and
// stream go; a restarted Redis gets every user back.
import { CoreV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelStream, channelUser, type Channel } from '../../../contract/src/report-streams.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { eventually, startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import {
  channelSecretUrl,
  connectWhenAccepted,
  liveHeartbeat,
  reportWriter,
} from '../../../test/support/report-writer.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { consumerGroup } from './events-consumer.ts';

const invalidCount = (metrics: string, type: string): number =>
  Number(
    new RegExp(`^livestream_operator_reports_invalid_total\\{type="${type}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0,
  );

/** The error a command gets, or 'OK' when Redis ran it. */
const outcome = (redis: Redis, args: (string | number)[]): Promise<string> =>
  redis.call(String(args[0]), ...args.slice(1)).then(
    () => 'OK',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );

describe('tenants on one Redis', () => {
  const a = useTestCluster('tenant-a');
  const b = useTestCluster('tenant-b');
  const streamsA = liveStreams(a);
  const streamsB = liveStreams(b);
  let redis: RedisProcess;
  let admin: Redis;
  let operators: OperatorProcess[] = [];
  let asA: Redis;
  let urlA: string;
  let urlB: string;
  const chA = (): Channel => ({ namespace: a.namespace, name: 'show' });
  const chB = (): Channel => ({ namespace: b.namespace, name: 'show' });

  beforeAll(async () => {
    redis = await startRedisProcess();
    admin = new Redis(redis.url);
    await applyLiveStreamCrd(a.kubectl);
    operators = await Promise.all(
      [a, b].map((c) =>
        startOperator({
          kubeconfig: c.kubeconfig,
          namespace: c.namespace,
          // A reads one stream per XREADGROUP (several non-blocking reads a round), B all in one blocking read.
          env: {
            LSO_REDIS_URL: redis.url,
            LSO_RESYNC_SECONDS: '30',
            LSO_REPORT_STREAMS_PER_READ: c === a ? '1' : '1000',
          },
        }),
      ),
    );
    // The same name in both namespaces: only the namespace tells them apart. A has a second channel (its own chunk).
    await streamsA.apply('show', {});
    await streamsA.apply('second', {});
    await streamsB.apply('show', {});
    await streamsA.until('show', 'a first status in A', (ls) => ls.status?.state);
    await streamsB.until('show', 'a first status in B', (ls) => ls.status?.state);
    urlA = await channelSecretUrl(a.kc.makeApiClient(CoreV1Api), a.namespace, 'show');
    urlB = await channelSecretUrl(b.kc.makeApiClient(CoreV1Api), b.namespace, 'show');
    asA = await connectWhenAccepted(urlA);
  }, 60_000);

  afterAll(async () => {
    asA?.disconnect();
    admin?.disconnect();
    await Promise.all(operators.map((o) => o.stop()));
    await redis?.stop();
  });

  it('gives each channel its own user and password, never the operator’s', () => {
    const adminPassword = new URL(redis.url).password;
    for (const [url, channel] of [
      [urlA, chA()],
      [urlB, chB()],
    ] as const) {
      const parsed = new URL(url);
      expect(decodeURIComponent(parsed.username)).toBe(channelUser(channel));
      expect(parsed.password.length).toBeGreaterThanOrEqual(32);
      expect(url).not.toContain(adminPassword);
      expect(parsed.host).toBe(new URL(redis.url).host);
    }
    expect(new URL(urlA).password).not.toBe(new URL(urlB).password);
  });

  it('lets A’s credential XADD to A’s stream (with its trimming) and nothing else', async () => {
    const A = channelStream(chA());
    const B = channelStream(chB());
    const writer = reportWriter(asA, a.namespace, 'show');
    await writer.report('heartbeat', '', liveHeartbeat(0, { state: 'idle' }));
    const id = (await asA.xadd(A, 'MAXLEN', '~', 100_000, '*', 'probe', '1'))!;
    await writer.report('heartbeat', '', liveHeartbeat(0, { state: 'idle' }));
    expect(await outcome(asA, ['PING'])).toBe('OK');
    // B's stream exists (its group does), with whatever is in it: none of this may touch it.
    const bBefore = await admin.xlen(B);
    const denied: (string | number)[][] = [];
    for (const s of [A, B]) {
      denied.push(
        ['XREAD', 'STREAMS', s, '0'],
        ['XREADGROUP', 'GROUP', consumerGroup, 'spy', 'STREAMS', s, '>'],
        ['XRANGE', s, '-', '+'],
        ['XREVRANGE', s, '+', '-'],
        ['XLEN', s],
        ['XINFO', 'STREAM', s],
        ['XINFO', 'GROUPS', s],
        ['XPENDING', s, consumerGroup],
        ['DEL', s],
        ['UNLINK', s],
        ['XDEL', s, id],
        ['XTRIM', s, 'MAXLEN', 0],
        ['XACK', s, consumerGroup, id],
        ['XGROUP', 'DESTROY', s, consumerGroup],
        ['XGROUP', 'SETID', s, consumerGroup, '$'],
        ['XGROUP', 'CREATECONSUMER', s, consumerGroup, 'spy'],
        ['XCLAIM', s, consumerGroup, 'spy', 0, id],
        ['XAUTOCLAIM', s, consumerGroup, 'spy', 0, '0-0'],
        ['XSETID', s, '99999999999999-0'],
        ['RENAME', s, 'elsewhere'],
        ['EXPIRE', s, 1],
        ['TYPE', s],
        ['EXISTS', s],
        ['DUMP', s],
        ['COPY', s, 'elsewhere'],
        ['OBJECT', 'ENCODING', s],
        ['GET', s],
      );
    }
    denied.push(
      // Writes anywhere but A's own stream, B's first.
      ['XADD', B, '*', 'type', 'heartbeat'],
      ['XADD', B, 'MAXLEN', 0, '*', 'type', 'heartbeat'],
      ['XADD', B, 'NOMKSTREAM', 'MINID', '99999999999999', '*', 'f', 'v'],
      ['XADD', 'livestream:events', '*', 'f', 'v'],
      ['XADD', `${A}x`, '*', 'f', 'v'],
      ['SET', 'k', 'v'],
      ['PUBLISH', 'c', 'm'],
      // The keyspace, the server, the ACLs.
      ['KEYS', '*'],
      ['SCAN', 0],
      ['RANDOMKEY'],
      ['DBSIZE'],
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['SWAPDB', 0, 1],
      ['SELECT', 1],
      ['CONFIG', 'GET', '*'],
      ['CONFIG', 'SET', 'maxmemory', '1'],
      ['ACL', 'LIST'],
      ['ACL', 'USERS'],
      ['ACL', 'GETUSER', channelUser(chB())],
      ['ACL', 'SETUSER', channelUser(chA()), 'allkeys', '+@all'],
      ['ACL', 'DELUSER', channelUser(chB())],
      ['ACL', 'LOG'],
      ['CLIENT', 'LIST'],
      ['CLIENT', 'KILL', 'USER', channelUser(chB())],
      ['INFO'],
      ['EVAL', 'return 1', 0],
      ['FUNCTION', 'LIST'],
      ['MULTI'],
      ['SLOWLOG', 'GET'],
      ['SAVE'],
      ['REPLICAOF', 'NO', 'ONE'],
      ['SHUTDOWN', 'NOSAVE'],
    );
    const refused: string[] = [];
    for (const args of denied) {
      const result = await outcome(asA, args);
      if (!/^NOPERM/.test(result)) refused.push(`${args.join(' ')} -> ${result}`);
    }
    expect(refused).toEqual([]);
    expect(await admin.xlen(B)).toBe(bBefore);
    expect(await admin.exists('k', 'elsewhere')).toBe(0);
  });

  it('never lets a report in A’s stream that claims B change B’s status, counts it, and still folds A’s', async () => {
    const session = `0${Date.now().toString(36)}-spoof`;
    const before = invalidCount(await operators[0]!.metrics(), 'heartbeat');
    // Reports claiming B/show, written as A's pods can: into A's stream only.
    const forger = reportWriter(asA, b.namespace, 'show', chA());
    await forger.report('publish-started', session, { resumed: false });
    for (let i = 1; i <= 3; i++) await forger.report('heartbeat', session, liveHeartbeat(i));
    // Then A's own reports, behind the forgeries in the same stream.
    const own = reportWriter(asA, a.namespace, 'show');
    await own.report('publish-started', `${session}-a`, { resumed: false });
    await own.report('heartbeat', `${session}-a`, liveHeartbeat(1));
    const liveA = await streamsA.until('show', 'A Live from its own reports', (ls) =>
      ls.status?.state === 'Live' ? ls : undefined,
    );
    expect(liveA.status?.session?.id).toBe(`${session}-a`);
    const counted = await eventually(
      async () => {
        const m = await operators[0]!.metrics();
        const n = { started: invalidCount(m, 'publish-started'), heartbeat: invalidCount(m, 'heartbeat') - before };
        return n.started >= 1 && n.heartbeat >= 3 ? n : undefined;
      },
      10_000,
      'the forgeries counted as invalid',
    );
    expect(counted).toEqual({ started: 1, heartbeat: 3 });
    // Logged once per type, with the cause; never the claimed names.
    const lines = operators[0]!
      .output()
      .split('\n')
      .filter((l) => l.includes('foreign-channel'));
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(b.namespace);
    // Acknowledged: nothing of A's stream is left pending (the forgeries at once, A's after its status write).
    await eventually(
      async () => {
        const summary = (await admin.xpending(channelStream(chA()), consumerGroup)) as [number, ...unknown[]];
        return summary[0] === 0 ? true : undefined;
      },
      10_000,
      'nothing pending in A’s stream',
    );
    const statusB = (await streamsB.get('show')).status;
    expect(statusB?.state).not.toBe('Live');
    expect(statusB?.session).toBeUndefined();
    expect(JSON.stringify(statusB?.sessions ?? [])).not.toContain(session);
    expect(invalidCount(await operators[1]!.metrics(), 'heartbeat')).toBe(0); // B's operator never saw them
  });

  it('keeps every password out of logs and status', async () => {
    const secrets = [new URL(redis.url).password, new URL(urlA).password, new URL(urlB).password];
    const seen = [...operators.map((o) => o.output()), JSON.stringify(await streamsA.get('show'))].join('\n');
    for (const s of secrets) expect(seen).not.toContain(s);
  });

  it('deletes the user and stream of a deleted LiveStream', async () => {
    await streamsA.apply('gone', {});
    const gone = { namespace: a.namespace, name: 'gone' };
    // The user is set first, then the stream made with its group (from ID 0: nothing written in between is lost).
    await eventually(
      async () =>
        ((await admin.call('ACL', 'USERS')) as string[]).includes(channelUser(gone)) &&
        (await admin.exists(channelStream(gone))) === 1
          ? true
          : undefined,
      15_000,
      'the user and the stream of A/gone',
    );
    await a.kubectl(['delete', 'livestream', 'gone', '-n', a.namespace, '--wait=true']);
    await eventually(
      async () => {
        const users = (await admin.call('ACL', 'USERS')) as string[];
        return !users.includes(channelUser(gone)) && (await admin.exists(channelStream(gone))) === 0 ? true : undefined;
      },
      15_000,
      'user and stream of A/gone deleted',
    );
    expect(((await admin.call('ACL', 'USERS')) as string[]).includes(channelUser(chA()))).toBe(true);
  });

  it('applies every user and group again after Redis restarts (it keeps none)', async () => {
    await redis.stop();
    await redis.start();
    const fresh = await connectWhenAccepted(urlA, 20_000);
    try {
      const own = reportWriter(fresh, a.namespace, 'show');
      const session = `0${Date.now().toString(36)}-after`;
      await own.report('publish-started', session, { resumed: false });
      await own.report('heartbeat', session, liveHeartbeat(1));
      await streamsA.until('show', 'A’s report after the restart folded', (ls) =>
        ls.status?.session?.id === session ? true : undefined,
      );
    } finally {
      fresh.disconnect();
    }
  }, 60_000);
});
