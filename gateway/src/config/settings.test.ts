import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { SettingsError, gatewayDefaults, gatewaySettings } from './settings.ts';

const tlsOn = { LSO_GATEWAY_TLS_CERT_FILE: '/t/tls.crt', LSO_GATEWAY_TLS_KEY_FILE: '/t/tls.key' };

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
      tls: undefined, // no certificate: no RTMPS or HTTPS listener
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

  it('turns TLS on with both files, on the container ports 1936 and 8443 unless told', () => {
    const s = gatewaySettings({ LSO_GATEWAY_TLS_CERT_FILE: '/t/tls.crt', LSO_GATEWAY_TLS_KEY_FILE: '/t/tls.key' });
    expect(s.tls).toEqual({ certPath: '/t/tls.crt', keyPath: '/t/tls.key', rtmpsPort: 1936, httpsPort: 8443 });
    const custom = gatewaySettings({
      LSO_GATEWAY_TLS_CERT_FILE: 'rel/c.pem',
      LSO_GATEWAY_TLS_KEY_FILE: 'rel/k.pem',
      LSO_GATEWAY_RTMPS_PORT: '443',
      LSO_GATEWAY_HTTPS_PORT: '0',
    });
    expect(custom.tls).toMatchObject({ certPath: path.resolve('rel/c.pem'), rtmpsPort: 443, httpsPort: 0 });
  });

  it('leaves TLS off when both files are empty, whatever the TLS ports say', () => {
    const s = gatewaySettings({
      LSO_GATEWAY_TLS_CERT_FILE: '',
      LSO_GATEWAY_TLS_KEY_FILE: '',
      LSO_GATEWAY_RTMPS_PORT: '1935',
    });
    expect(s.tls).toBeUndefined();
  });

  it.each([
    [{ LSO_GATEWAY_TLS_CERT_FILE: '/t/tls.crt' }, 'LSO_GATEWAY_TLS_KEY_FILE must be set too'],
    [{ LSO_GATEWAY_TLS_KEY_FILE: '/t/tls.key' }, 'LSO_GATEWAY_TLS_CERT_FILE must be set too'],
    [{ ...tlsOn, LSO_GATEWAY_RTMPS_PORT: '70000' }, 'LSO_GATEWAY_RTMPS_PORT must be an integer'],
    [{ ...tlsOn, LSO_GATEWAY_HTTPS_PORT: 'https' }, 'LSO_GATEWAY_HTTPS_PORT must be an integer'],
    [{ ...tlsOn, LSO_GATEWAY_RTMPS_PORT: '1935' }, 'LSO_GATEWAY_RTMPS_PORT and LSO_GATEWAY_RTMP_PORT are both 1935'],
    [{ ...tlsOn, LSO_GATEWAY_HTTPS_PORT: '8080' }, 'LSO_GATEWAY_HTTPS_PORT and LSO_GATEWAY_HTTP_PORT are both 8080'],
    [{ LSO_GATEWAY_HTTP_PORT: '1935' }, 'LSO_GATEWAY_HTTP_PORT and LSO_GATEWAY_RTMP_PORT are both 1935'],
  ])('refuses %o: %s', (env, message) => {
    expect(() => gatewaySettings(env)).toThrow(SettingsError);
    expect(() => gatewaySettings(env)).toThrow(message);
  });

  it('allows port 0 (any free port) on several listeners, as the tests use it', () => {
    const s = gatewaySettings({ ...tlsOn, LSO_GATEWAY_RTMP_PORT: '0', LSO_GATEWAY_RTMPS_PORT: '0' });
    expect([s.rtmpPort, s.tls?.rtmpsPort]).toEqual([0, 0]);
  });
});
