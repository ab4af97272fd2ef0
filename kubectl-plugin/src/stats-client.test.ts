import { describe, expect, it } from 'vitest';
import { statsPath } from '../../contract/src/stats-api.ts';
import { requestUrl, statsBaseUrl, statsUrlEnv } from './stats-client.ts';

describe('stats API address', () => {
  it('takes the flag, else the environment, else explains how to expose the port', () => {
    expect(statsBaseUrl('https://a:8443', { [statsUrlEnv]: 'http://b' }).host).toBe('a:8443');
    expect(statsBaseUrl(undefined, { [statsUrlEnv]: 'http://b' }).host).toBe('b');
    expect(() => statsBaseUrl(undefined, {})).toThrow(/port-forward svc\/livestream-operator-metrics 8081:stats/);
  });
  it('refuses a URL with credentials or a query (a token belongs in the header)', () => {
    expect(() => statsBaseUrl('https://u:p@a', {})).toThrow('no query and no credentials');
    expect(() => statsBaseUrl('https://a/?token=x', {})).toThrow('no query and no credentials');
    expect(() => statsBaseUrl('ftp://a', {})).toThrow('must be http(s)');
    expect(() => statsBaseUrl('a:8443', {})).toThrow();
  });
  it('joins a base with a path prefix, the contract path and the parameters given', () => {
    const url = requestUrl(new URL('https://a/prefix/'), statsPath({ namespace: 'team', name: 'show' }), {
      interval: 'week',
      from: undefined,
    });
    expect(url.href).toBe('https://a/prefix/stats/v1/namespaces/team/livestreams/show/stats?interval=week');
  });
});
