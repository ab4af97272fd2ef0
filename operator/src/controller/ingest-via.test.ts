import { describe, expect, it } from 'vitest';
import { ingestVia, throughGateway, throughService } from './ingest-via.ts';

type Spec = Parameters<typeof ingestVia>[0];
type Ingest = Spec['ingest'];
// Absent: a spec the API server has not defaulted (the type says ingest is always there once it has).
const spec = (ingest: Partial<Ingest> | undefined): Spec =>
  ingest ? { ingest: { app: 'live', serviceType: 'ClusterIP', httpFlv: false, ...ingest } } : ({} as Spec);

describe('ingestVia', () => {
  it('keeps what the spec asks for, with or without a gateway', () => {
    for (const via of ['Gateway', 'Service', 'Both'] as const) {
      expect(ingestVia(spec({ via }), true)).toBe(via);
      expect(ingestVia(spec({ via }), false)).toBe(via);
    }
  });

  it('absent: through the gateway when installed, also the Service when it has an outside address', () => {
    expect(ingestVia(spec(undefined), true)).toBe('Gateway');
    expect(ingestVia(spec({}), true)).toBe('Gateway');
    expect(ingestVia(spec({ serviceType: 'NodePort' }), true)).toBe('Both');
    expect(ingestVia(spec({ serviceType: 'LoadBalancer' }), true)).toBe('Both');
  });

  it('absent without a gateway: the Service, whatever its type', () => {
    for (const serviceType of ['ClusterIP', 'NodePort', 'LoadBalancer'] as const) {
      expect(ingestVia(spec({ serviceType }), false)).toBe('Service');
    }
  });

  it('says which paths carry the channel', () => {
    expect([throughGateway('Gateway'), throughService('Gateway')]).toEqual([true, false]);
    expect([throughGateway('Service'), throughService('Service')]).toEqual([false, true]);
    expect([throughGateway('Both'), throughService('Both')]).toEqual([true, true]);
  });
});
