import { describe, expect, it } from 'vitest';
import { loadOperatorConfig } from './config.ts';

describe('LSO_NODE_ADDRESS', () => {
  it('takes an IP address (v4, v6, bracketed v6) or a DNS name; absent when unset or empty', () => {
    for (const address of ['192.0.2.10', 'fd00::a', '[fd00::a]', 'node-1.media.example.com']) {
      expect(loadOperatorConfig({ LSO_NODE_ADDRESS: address }).nodeAddress).toBe(address);
    }
    expect(loadOperatorConfig({}).nodeAddress).toBeUndefined();
    expect(loadOperatorConfig({ LSO_NODE_ADDRESS: '' }).nodeAddress).toBeUndefined();
  });

  it.each(['http://192.0.2.10', '192.0.2.10:30000', 'node_1', 'a/b'])('refuses %s', (address) => {
    expect(() => loadOperatorConfig({ LSO_NODE_ADDRESS: address })).toThrow(/LSO_NODE_ADDRESS/);
  });
});

describe('LSO_TRANSCODER_PLACEMENT', () => {
  it('takes a spec.placement as JSON, checked and kept as the CRD stores it', () => {
    const placement = {
      nodeSelector: { pool: 'media' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }],
      imagePullPolicy: 'Always',
    };
    const config = loadOperatorConfig({ LSO_TRANSCODER_PLACEMENT: JSON.stringify(placement) });
    expect(config.transcoderPlacement).toEqual(placement);
    expect(loadOperatorConfig({}).transcoderPlacement).toBeUndefined();
  });

  it.each([
    ['not JSON', '{nodeSelector', /must be JSON/],
    ['an unknown field', '{"nodeSelectors":{}}', /spec\.placement.*nodeSelectors/],
    ['a bad pull policy', '{"imagePullPolicy":"Sometimes"}', /spec\.placement\.imagePullPolicy/],
    [
      'a value with operator Exists',
      '{"tolerations":[{"key":"k","operator":"Exists","value":"v"}]}',
      /spec\.placement\.tolerations\[0\]\.value: .*operator Exists must not have a value/,
    ],
  ])('refuses %s, naming the field', (_, raw, message) => {
    expect(() => loadOperatorConfig({ LSO_TRANSCODER_PLACEMENT: raw })).toThrow(/^LSO_TRANSCODER_PLACEMENT/);
    expect(() => loadOperatorConfig({ LSO_TRANSCODER_PLACEMENT: raw })).toThrow(message);
  });
});

describe('LSO_REPORT_STREAMS_PER_READ', () => {
  it('defaults to 1000 channel streams per read and takes 1..10000', () => {
    expect(loadOperatorConfig({}).reportStreamsPerRead).toBe(1000);
    expect(loadOperatorConfig({ LSO_REPORT_STREAMS_PER_READ: '1' }).reportStreamsPerRead).toBe(1);
    for (const bad of ['0', '10001', '2.5', 'many']) {
      expect(() => loadOperatorConfig({ LSO_REPORT_STREAMS_PER_READ: bad })).toThrow(/LSO_REPORT_STREAMS_PER_READ/);
    }
  });
});

describe('LSO_GATEWAY_*', () => {
  const gateway = {
    LSO_GATEWAY_ROUTES_SECRET: 'lso-gateway-routes',
    LSO_GATEWAY_ROUTING_SECRET: 'lso-gateway-routing',
  };

  it('is off unless the routes Secret is named', () => {
    expect(loadOperatorConfig({}).gateway).toBeUndefined();
    expect(loadOperatorConfig({ LSO_GATEWAY_ROUTES_SECRET: '', LSO_GATEWAY_NAMESPACE: 'x' }).gateway).toBeUndefined();
  });

  it("names the Secrets, the pods, and the namespace (the operator's own by default)", () => {
    expect(loadOperatorConfig({ ...gateway, POD_NAMESPACE: 'ops' }).gateway).toEqual({
      namespace: 'ops',
      routesSecret: 'lso-gateway-routes',
      routingSecret: 'lso-gateway-routing',
      podSelector: undefined,
      service: undefined,
      adminSecret: undefined,
      ingestUrl: undefined,
      playbackUrl: undefined,
    });
    const selector = 'app.kubernetes.io/instance=lso,app.kubernetes.io/component=gateway';
    const config = loadOperatorConfig({
      ...gateway,
      POD_NAMESPACE: 'ops',
      LSO_GATEWAY_NAMESPACE: 'edge',
      LSO_GATEWAY_POD_SELECTOR: selector,
    });
    expect(config.gateway).toMatchObject({ namespace: 'edge', podSelector: selector });
  });

  it.each([
    ['no routing secret', { LSO_GATEWAY_ROUTES_SECRET: 'r' }, /LSO_GATEWAY_ROUTING_SECRET is required/],
    ['a bad Secret name', { ...gateway, LSO_GATEWAY_ROUTES_SECRET: 'Routes_1' }, /LSO_GATEWAY_ROUTES_SECRET must/],
    ['a bad namespace', { ...gateway, LSO_GATEWAY_NAMESPACE: 'a/b' }, /LSO_GATEWAY_NAMESPACE must/],
    ['one Secret for both', { ...gateway, LSO_GATEWAY_ROUTING_SECRET: 'lso-gateway-routes' }, /differ/],
    ['a set-based selector', { ...gateway, LSO_GATEWAY_POD_SELECTOR: 'tier in (a,b)' }, /LSO_GATEWAY_POD_SELECTOR/],
    ['a trailing comma', { ...gateway, LSO_GATEWAY_POD_SELECTOR: 'a=b,' }, /LSO_GATEWAY_POD_SELECTOR/],
    ['a bad Service name', { ...gateway, LSO_GATEWAY_SERVICE: 'Gate_way' }, /LSO_GATEWAY_SERVICE must/],
    [
      'the admin token in the routes Secret',
      { ...gateway, LSO_GATEWAY_ADMIN_SECRET: 'lso-gateway-routes' },
      /ADMIN_SECRET/,
    ],
    ['an ingest URL of another scheme', { ...gateway, LSO_GATEWAY_INGEST_URL: 'https://x.example' }, /rtmp: or rtmps:/],
    ['an ingest URL with a path', { ...gateway, LSO_GATEWAY_INGEST_URL: 'rtmp://x.example/live' }, /no path/],
    ['credentials in a URL', { ...gateway, LSO_GATEWAY_PLAYBACK_URL: 'https://u:p@x.example' }, /no credentials/],
    ['a query in a URL', { ...gateway, LSO_GATEWAY_PLAYBACK_URL: 'https://x.example/?t=1' }, /no credentials/],
    ['not a URL', { ...gateway, LSO_GATEWAY_PLAYBACK_URL: 'cdn.example.com' }, /must be a URL/],
  ])('refuses %s', (_, env, message) => {
    expect(() => loadOperatorConfig(env)).toThrow(message);
  });

  it('takes the public URLs as given, without a trailing slash; a playback URL may have a path prefix', () => {
    const config = loadOperatorConfig({
      ...gateway,
      LSO_GATEWAY_SERVICE: 'lso-gateway',
      LSO_GATEWAY_INGEST_URL: 'rtmps://ingest.example.com:443/',
      LSO_GATEWAY_PLAYBACK_URL: 'https://cdn.example.com/live/',
    });
    expect(config.gateway).toMatchObject({
      service: 'lso-gateway',
      ingestUrl: 'rtmps://ingest.example.com:443',
      playbackUrl: 'https://cdn.example.com/live',
    });
  });
});
