import { createServer, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeLeaseApi, type LeaseApi } from './lease-api.ts';

describe('kubeLeaseApi against an API server that never answers', () => {
  let server: Server;
  let api: LeaseApi;
  beforeAll(async () => {
    server = createServer(() => {}); // accepts every request, answers none (undici alone would wait 300 s)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'hung', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'hung', cluster: 'hung', user: 'nobody' }],
      currentContext: 'hung',
    });
    api = kubeLeaseApi(kc, 'ns', 'lso');
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it.each([
    ['read', () => api.read(AbortSignal.timeout(200))],
    ['create', () => api.write({ metadata: { name: 'lso' } }, AbortSignal.timeout(200))],
    ['replace', () => api.write({ metadata: { name: 'lso', resourceVersion: '7' } }, AbortSignal.timeout(200))],
  ])('aborts a %s when its signal fires', async (_op, call) => {
    const started = performance.now();
    await expect(call()).rejects.toThrow(/abort/i);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
