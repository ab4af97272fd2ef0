// The viewer and admin settings (settings.test.ts has the rest).
import { describe, expect, it } from 'vitest';
import { gatewaySettings, SettingsError } from './settings.ts';

describe('gateway settings: viewers and admin', () => {
  it('trusts no X-Forwarded-For and reads the admin token from its mount by default', () => {
    const s = gatewaySettings({});
    expect(s.trustedProxies).toBe(0);
    expect(s.adminTokenPath).toBe('/etc/livestream-gateway/admin/token');
  });

  it('takes a number of trusted proxies, or true for one', () => {
    expect(gatewaySettings({ LSO_GATEWAY_TRUST_FORWARDED: 'true' }).trustedProxies).toBe(1);
    expect(gatewaySettings({ LSO_GATEWAY_TRUST_FORWARDED: 'false' }).trustedProxies).toBe(0);
    expect(gatewaySettings({ LSO_GATEWAY_TRUST_FORWARDED: '2' }).trustedProxies).toBe(2);
    expect(() => gatewaySettings({ LSO_GATEWAY_TRUST_FORWARDED: 'yes' })).toThrow(SettingsError);
    expect(() => gatewaySettings({ LSO_GATEWAY_TRUST_FORWARDED: '11' })).toThrow(/LSO_GATEWAY_TRUST_FORWARDED/);
  });

  it('resolves the admin token file', () => {
    expect(gatewaySettings({ LSO_GATEWAY_ADMIN_TOKEN_FILE: '/run/admin/token' }).adminTokenPath).toBe(
      '/run/admin/token',
    );
  });
});

describe('playback keys directory', () => {
  it('defaults to the chart mount, and follows LSO_GATEWAY_PLAYBACK_KEYS_DIR', () => {
    expect(gatewaySettings({}).playbackKeysDir).toBe('/etc/livestream/playback-keys');
    expect(gatewaySettings({ LSO_GATEWAY_PLAYBACK_KEYS_DIR: '/run/keys' }).playbackKeysDir).toBe('/run/keys');
  });
});
