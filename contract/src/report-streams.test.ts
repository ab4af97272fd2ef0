import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  channelAclRules,
  channelOfStream,
  channelOfUser,
  channelPassword,
  channelRedisUrl,
  channelStream,
  channelUser,
} from './report-streams.ts';

const news = { namespace: 'media', name: 'news' };
const password = 'a'.repeat(20) + '-_0Z';

describe('channel streams and users', () => {
  it.each([
    [news, 'livestream:events:media:news', 'ch:media:news'],
    [{ namespace: 'a', name: 'b.c-d' }, 'livestream:events:a:b.c-d', 'ch:a:b.c-d'],
    [
      { namespace: 'x'.repeat(63), name: 'y'.repeat(253) },
      `livestream:events:${'x'.repeat(63)}:${'y'.repeat(253)}`,
      `ch:${'x'.repeat(63)}:${'y'.repeat(253)}`,
    ],
  ])('names the stream and user of %o, and reads the channel back from either', (channel, stream, user) => {
    expect(channelStream(channel)).toBe(stream);
    expect(channelUser(channel)).toBe(user);
    expect(channelOfStream(stream)).toEqual(channel);
    expect(channelOfUser(user)).toEqual(channel);
  });

  // Anything that is not a Kubernetes name could split the key (':'), an ACL rule (' ') or act as a glob (* ? [ ]).
  it.each([
    ['a colon in the name', { namespace: 'media', name: 'a:b' }],
    ['a colon in the namespace', { namespace: 'me:dia', name: 'news' }],
    ['a glob in the name', { namespace: 'media', name: 'n*' }],
    ['a bracket', { namespace: 'media', name: 'n[ab]' }],
    ['a space', { namespace: 'media', name: 'a b' }],
    ['upper case', { namespace: 'Media', name: 'news' }],
    ['an empty name', { namespace: 'media', name: '' }],
    ['a dot in the namespace', { namespace: 'me.dia', name: 'news' }],
    ['a namespace of 64', { namespace: 'x'.repeat(64), name: 'news' }],
    ['a name of 254', { namespace: 'media', name: 'y'.repeat(254) }],
  ])('refuses %s', (_what, channel) => {
    expect(() => channelStream(channel)).toThrow(/DNS/);
    expect(() => channelUser(channel)).toThrow(/DNS/);
  });

  it.each([
    'livestream:events',
    'livestream:events:media',
    'livestream:events:media:news:extra',
    'livestream:events:media:',
    'livestream:events::news',
    'livestream:events:Media:news',
    'livestream:events:me*:news',
    'other:media:news',
  ])('reads no channel from %s', (stream) => {
    expect(channelOfStream(stream)).toBeUndefined();
    expect(channelOfUser(stream.replace('livestream:events:', 'ch:'))).toBeUndefined();
  });
});

describe('channel ACL rules', () => {
  it('start from nothing and grant XADD and PING on the channel stream only, write-only, by password hash', () => {
    const rules = channelAclRules(news, password);
    const hash = createHash('sha256').update(password).digest('hex');
    expect(rules).toEqual([
      'reset',
      'on',
      `#${hash}`,
      '%W~livestream:events:media:news',
      'resetchannels',
      '+xadd',
      '+ping',
    ]);
    expect(rules.join(' ')).not.toContain(password);
  });

  it('grant SELECT only for a URL that names a database', () => {
    expect(channelAclRules(news, password, { select: true })).toContain('+select');
    expect(channelAclRules(news, password)).not.toContain('+select');
  });

  it('grant no other key, no glob, no read, no admin, whatever the channel', () => {
    for (const channel of [news, { namespace: 'a', name: 'b.c' }, { namespace: 'z9', name: '0-x' }]) {
      const rules = channelAclRules(channel, password, { select: true });
      expect(rules[0]).toBe('reset'); // everything before is wiped, whatever the user had
      const keys = rules.filter((r) => r.includes('~'));
      expect(keys).toEqual([`%W~${channelStream(channel)}`]);
      expect(keys[0]).not.toMatch(/[*?[\]]/);
      const grants = rules.filter((r) => r.startsWith('+') || r.startsWith('&') || r.startsWith('allkeys'));
      expect(grants.sort()).toEqual(['+ping', '+select', '+xadd']);
      expect(rules.some((r) => /^(allcommands|allkeys|allchannels|nopass|~\*|\+@)/.test(r))).toBe(false);
    }
  });

  it('refuse a short password', () => {
    expect(() => channelAclRules(news, 'short')).toThrow(/16/);
  });
});

describe('channel URLs', () => {
  it.each([
    ['redis://:adminpw@redis.lso-system.svc:6379', 'redis://ch%3Amedia%3Anews:PW@redis.lso-system.svc:6379'],
    ['rediss://admin:adminpw@r:6380/2', 'rediss://ch%3Amedia%3Anews:PW@r:6380/2'],
    ['redis://127.0.0.1:7000', 'redis://ch%3Amedia%3Anews:PW@127.0.0.1:7000'],
    ['redis://[::1]:7000/0?family=6', 'redis://ch%3Amedia%3Anews:PW@[::1]:7000/0?family=6'],
  ])('put the channel user in place of the operator’s: %s', (operatorUrl, expected) => {
    const url = channelRedisUrl(operatorUrl, news, password);
    expect(url).toBe(expected.replace('PW', password));
    expect(url).not.toContain('adminpw');
    expect(channelPassword(url, news)).toBe(password);
  });

  it('refuse a URL that is not redis(s)://', () => {
    expect(() => channelRedisUrl('http://r:6379', news, password)).toThrow(/redis:\/\//);
  });

  it.each([
    ['no URL', undefined],
    ['not a URL', 'not a url'],
    ['the operator’s own URL', 'redis://:adminpw-long-enough-1234@r:6379'],
    ['another channel’s', channelRedisUrl('redis://r:6379', { namespace: 'media', name: 'sport' }, password)],
    [
      'the same name in another namespace',
      channelRedisUrl('redis://r:6379', { namespace: 'other', name: 'news' }, password),
    ],
    ['a short password', 'redis://ch%3Amedia%3Anews:short@r:6379'],
    ['no password', 'redis://ch%3Amedia%3Anews@r:6379'],
  ])('read no channel password back from %s', (_what, url) => {
    expect(channelPassword(url, news)).toBeUndefined();
  });
});
