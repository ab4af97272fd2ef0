import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate, type TestCertificate } from '../../../test/support/tls-certificates.ts';
import { PooledKubeConfig } from './pooled-kube-config.ts';

interface FakeApiServer {
  server: Server;
  url: string;
  handshakes: () => number;
  /** The Authorization headers seen, in order. */
  tokens: string[];
}

async function fakeApiServer(pair: TestCertificate): Promise<FakeApiServer> {
  const tokens: string[] = [];
  const server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    tokens.push(req.headers.authorization ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'default' } }));
  });
  let handshakes = 0;
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${port}`, handshakes: () => handshakes, tokens };
}

function kubeConfig(servers: FakeApiServer[], ca: Buffer, maxAgeMs?: number): PooledKubeConfig {
  const kc = new PooledKubeConfig(maxAgeMs);
  kc.loadFromOptions({
    clusters: servers.map((s, i) => ({ name: `c${i}`, server: s.url, caData: ca.toString('base64') })),
    users: [{ name: 'u', token: 'token-1' }],
    contexts: servers.map((_, i) => ({ name: `x${i}`, cluster: `c${i}`, user: 'u' })),
    currentContext: 'x0',
  });
  return kc;
}

describe('PooledKubeConfig', () => {
  let pair: TestCertificate;
  const servers: FakeApiServer[] = [];

  beforeAll(async () => {
    pair = await makeCertificate('pooled-kube-config');
    servers.push(await fakeApiServer(pair), await fakeApiServer(pair));
  });
  afterAll(() => {
    for (const s of servers) s.server.closeAllConnections();
    for (const s of servers) s.server.close();
  });

  const read = (kc: PooledKubeConfig) => kc.makeApiClient(CoreV1Api).readNamespace({ name: 'default' });

  it('serves sequential and concurrent requests over kept-alive connections, not one handshake each', async () => {
    const kc = kubeConfig(servers, pair.cert);
    const before = servers[0]!.handshakes();
    for (let i = 0; i < 100; i++) await read(kc);
    // The second request may open a second connection (undici has not yet taken the first back when it is sent);
    // from then on they are reused. Without the pool: 100.
    expect(servers[0]!.handshakes() - before).toBeLessThanOrEqual(2);
    await Promise.all(Array.from({ length: 20 }, () => read(kc)));
    // At most a connection per request in flight, beside the ones kept; then those are reused.
    const afterBurst = servers[0]!.handshakes() - before;
    expect(afterBurst).toBeLessThanOrEqual(22);
    for (let i = 0; i < 50; i++) await read(kc);
    expect(servers[0]!.handshakes() - before).toBe(afterBurst);
  });

  it('renews its Agent after maxAgeMs, so TLS material is read again', async () => {
    const kc = kubeConfig(servers, pair.cert, 0);
    const before = servers[0]!.handshakes();
    for (let i = 0; i < 5; i++) await read(kc);
    expect(servers[0]!.handshakes() - before).toBe(5);
  });

  it('still authenticates every request itself, and follows a change of context', async () => {
    const kc = kubeConfig(servers, pair.cert);
    await read(kc);
    kc.users[0] = { name: 'u', token: 'token-2' };
    await read(kc);
    expect(servers[0]!.tokens.slice(-2)).toEqual(['Bearer token-1', 'Bearer token-2']);
    const other = servers[1]!.handshakes();
    kc.setCurrentContext('x1');
    await read(kc);
    await read(kc);
    expect(servers[1]!.handshakes() - other).toBeLessThanOrEqual(2);
    for (let i = 0; i < 20; i++) await read(kc);
    expect(servers[1]!.handshakes() - other).toBeLessThanOrEqual(2);
    expect(servers[1]!.tokens.at(-1)).toBe('Bearer token-2');
  });
});
