// The WHIP network settings (settings.test.ts has the listeners).
import { describe, expect, it } from 'vitest';
import { gatewaySettings, SettingsError, whipNetwork } from './settings.ts';

const files = (content: string) => () => content;

describe('WHIP network settings', () => {
  it("changes nothing by default: ephemeral ports, the pod's own addresses, no STUN/TURN", () => {
    expect(gatewaySettings({}).whipNetwork).toEqual({ udpPorts: undefined, announceAddresses: [], iceServers: [] });
  });

  it('reads a port range, announce addresses and the ICE servers file', () => {
    const env = {
      LSO_GATEWAY_WHIP_UDP_PORTS: '40000-40031',
      LSO_GATEWAY_WHIP_ANNOUNCE_ADDRESSES: ' 203.0.113.7, ,198.51.100.2,203.0.113.7',
      LSO_GATEWAY_WHIP_ICE_SERVERS_FILE: '/etc/ice/servers.json',
    };
    const ice =
      '[{"urls":"stun:stun.example.com:3478"},{"urls":["turn:turn.example.com:3478"],"username":"u","credential":"p"}]';
    expect(whipNetwork(env, 8, files(ice))).toEqual({
      udpPorts: [40000, 40031],
      announceAddresses: ['203.0.113.7', '198.51.100.2'],
      iceServers: [
        { urls: ['stun:stun.example.com:3478'] },
        { urls: ['turn:turn.example.com:3478'], username: 'u', credential: 'p' },
      ],
    });
  });

  it('needs one port per host address per session in the range', () => {
    const env = { LSO_GATEWAY_WHIP_UDP_PORTS: '40000-40031', LSO_GATEWAY_WHIP_ANNOUNCE_ADDRESSES: '203.0.113.7' };
    expect(whipNetwork(env, 16).udpPorts).toEqual([40000, 40031]); // 16 sessions x 2 addresses = 32 ports
    expect(() => whipNetwork(env, 17)).toThrow(
      'LSO_GATEWAY_WHIP_UDP_PORTS holds 32 ports; LSO_GATEWAY_WHIP_MAX_SESSIONS=17 sessions need 34 (2 each',
    );
    // Through gatewaySettings: the default of 16 sessions on a range of 10.
    expect(() => gatewaySettings({ LSO_GATEWAY_WHIP_UDP_PORTS: '40000-40009' })).toThrow(/need 16/);
  });

  it.each([
    [{ LSO_GATEWAY_WHIP_UDP_PORTS: '40000' }, 'LSO_GATEWAY_WHIP_UDP_PORTS must be "first-last"'],
    [{ LSO_GATEWAY_WHIP_UDP_PORTS: '40000-40000' }, 'LSO_GATEWAY_WHIP_UDP_PORTS must be "first-last"'],
    [{ LSO_GATEWAY_WHIP_UDP_PORTS: '50-9000' }, 'LSO_GATEWAY_WHIP_UDP_PORTS must be "first-last"'],
    [{ LSO_GATEWAY_WHIP_UDP_PORTS: '60000-70000' }, 'LSO_GATEWAY_WHIP_UDP_PORTS must be "first-last"'],
    [{ LSO_GATEWAY_WHIP_ANNOUNCE_ADDRESSES: 'node.example.com' }, 'LSO_GATEWAY_WHIP_ANNOUNCE_ADDRESSES holds "node'],
  ])('refuses %o naming the variable', (env, message) => {
    expect(() => whipNetwork(env, 1)).toThrow(SettingsError);
    expect(() => whipNetwork(env, 1)).toThrow(message);
  });

  it.each([
    ['{not json', 'is not valid JSON'],
    ['{"urls":"stun:x"}', 'must hold a JSON list'],
    ['[{"urls":"http://x"}]', 'entry 0: urls must be a stun:'],
    ['[{"urls":[]}]', 'entry 0: urls must be'],
    ['[{"urls":"stun:x"},{"urls":"turn:x"}]', 'entry 1: a TURN server needs username and credential'],
    ['[{"urls":"stun:x","username":5}]', 'entry 0: username must be a string'],
  ])('refuses the ICE servers file %s, naming the variable and not echoing it', (content, message) => {
    const env = { LSO_GATEWAY_WHIP_ICE_SERVERS_FILE: '/etc/ice/servers.json' };
    expect(() => whipNetwork(env, 1, files(content))).toThrow(SettingsError);
    expect(() => whipNetwork(env, 1, files(content))).toThrow(
      `LSO_GATEWAY_WHIP_ICE_SERVERS_FILE: /etc/ice/servers.json`,
    );
    expect(() => whipNetwork(env, 1, files(content))).toThrow(message);
  });

  it('says a missing ICE servers file cannot be read', () => {
    const env = { LSO_GATEWAY_WHIP_ICE_SERVERS_FILE: '/nonexistent/servers.json' };
    expect(() => whipNetwork(env, 1)).toThrow('/nonexistent/servers.json cannot be read (ENOENT)');
  });
});
