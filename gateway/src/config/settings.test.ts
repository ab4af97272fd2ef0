import { describe, expect, it } from 'vitest';
import { SettingsError, gatewayDefaults, gatewaySettings } from './settings.ts';

describe('gatewaySettings', () => {
  it('has the pod defaults for an empty environment', () => {
    const s = gatewaySettings({});
    expect(s).toMatchObject({
      host: '0.0.0.0',
      rtmpPort: 1935,
      httpPort: 8080,
      routeTablePath: gatewayDefaults.routeTable,
      routingSecretPath: gatewayDefaults.routingSecretFile,
      cacheBytes: gatewayDefaults.cacheBytes,
      refusals: { burst: 10, refillMs: 6000 },
    });
  });

  it('reads every variable, and treats an empty one as absent', () => {
    const s = gatewaySettings({
      LSO_GATEWAY_RTMP_PORT: '1936',
      LSO_GATEWAY_HTTP_PORT: '',
      LSO_GATEWAY_ROUTE_TABLE: '/r/t.json',
      LSO_GATEWAY_ROUTING_SECRET_FILE: '/s/k',
      LSO_GATEWAY_CACHE_BYTES: String(64 * 1024 * 1024),
      LSO_GATEWAY_REFUSAL_BURST: '3',
      LSO_GATEWAY_REFUSAL_REFILL_MS: '1000',
    });
    expect(s).toMatchObject({ rtmpPort: 1936, httpPort: 8080, routeTablePath: '/r/t.json', routingSecretPath: '/s/k' });
    expect(s.cacheBytes).toBe(64 * 1024 * 1024);
    expect(s.refusals).toEqual({ burst: 3, refillMs: 1000 });
  });

  it.each([
    ['LSO_GATEWAY_RTMP_PORT', '70000'],
    ['LSO_GATEWAY_RTMP_PORT', 'x'],
    ['LSO_GATEWAY_HTTP_PORT', '-1'],
    ['LSO_GATEWAY_CACHE_BYTES', '10'],
    ['LSO_GATEWAY_REFUSAL_BURST', '0'],
    ['LSO_GATEWAY_REFUSAL_REFILL_MS', '1.5'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => gatewaySettings({ [name]: value })).toThrow(SettingsError);
    expect(() => gatewaySettings({ [name]: value })).toThrow(name);
  });
});
