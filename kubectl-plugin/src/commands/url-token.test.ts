import { describe, expect, it } from 'vitest';
import { endpointsOf } from './url.ts';
import { originsOf, tokenUrl } from './token.ts';

describe('url', () => {
  it('lists every address status has, the gateway first', () => {
    const status = {
      ingest: { via: 'Both' as const, url: 'rtmps://in.example.com:443/live', serviceUrl: 'rtmp://1.2.3.4:31935/live' },
      playback: {
        url: 'https://tv.example.com/team/show/master.m3u8',
        serviceUrl: 'http://1.2.3.4:30080/hls/master.m3u8',
      },
    };
    expect(endpointsOf({ status }).map((e) => e.endpoint)).toEqual([
      'ingest',
      'ingest (service)',
      'playback',
      'playback (service)',
    ]);
    expect(endpointsOf({ status: { ingest: { url: 'rtmp://x/live' } } })).toEqual([
      { endpoint: 'ingest', url: 'rtmp://x/live' },
    ]);
    expect(endpointsOf({})).toEqual([]);
  });
});

describe('token', () => {
  it('puts the token in the gateway URL as `token`', () => {
    const status = {
      ingest: { via: 'Gateway' as const },
      playback: { url: 'https://tv.example.com/team/show/master.m3u8' },
    };
    expect(tokenUrl({ status }, 'a.b-c_d')).toBe('https://tv.example.com/team/show/master.m3u8?token=a.b-c_d');
  });
  it('refuses a channel only its Service serves (no gateway checks the token)', () => {
    const status = {
      ingest: { via: 'Service' as const },
      playback: { url: 'http://show.team.svc:8080/hls/master.m3u8' },
    };
    expect(() => tokenUrl({ status }, 't')).toThrow('no gateway playback URL');
  });
  it('takes web origins only', () => {
    expect(originsOf([])).toBeUndefined();
    expect(originsOf(['https://example.com', 'http://localhost:3000/'])).toEqual([
      'https://example.com',
      'http://localhost:3000',
    ]);
    for (const bad of ['example.com', 'https://example.com/page', 'file:///x']) {
      expect(() => originsOf([bad])).toThrow('--origin must be a web origin');
    }
  });
});
