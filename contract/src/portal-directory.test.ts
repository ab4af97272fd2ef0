import { describe, expect, it } from 'vitest';
import { acceptsUpdate, parseDirectoryUpdate, type DirectoryUpdate } from './portal-directory.ts';

const listing = {
  namespace: 'tenant-a',
  name: 'show',
  title: 'The show',
  visibility: 'public',
  state: 'Live',
  liveSince: '2026-12-02T12:00:00Z',
  viewers: 3,
};
const update: DirectoryUpdate = {
  generation: 'g1',
  sequence: 2,
  reset: false,
  upserts: [listing as DirectoryUpdate['upserts'][number]],
  deletes: [],
};

describe('directory updates', () => {
  it('parses a well-formed update', () => {
    expect(parseDirectoryUpdate(JSON.parse(JSON.stringify(update)))).toEqual(update);
  });

  it.each<[string, unknown]>([
    ['an unknown visibility', { ...update, upserts: [{ ...listing, visibility: 'hidden' }] }],
    ['an over-long title', { ...update, upserts: [{ ...listing, title: 'x'.repeat(141) }] }],
    ['a bad time', { ...update, upserts: [{ ...listing, liveSince: 'soon' }] }],
    ['a negative viewer count', { ...update, upserts: [{ ...listing, viewers: -1 }] }],
    ['an unknown field', { ...update, upserts: [{ ...listing, streamKey: 'k' }] }],
    ['a bad namespace', { ...update, deletes: [{ namespace: 'A_B', name: 'x' }] }],
  ])('refuses %s, naming the field', (_what, value) => {
    expect(() => parseDirectoryUpdate(value)).toThrow(/^the directory update is malformed at (upserts|deletes)\.0/);
  });

  const vod = {
    session: 's-1',
    url: 'https://bucket.s3.eu-west-1.amazonaws.com/a/b/s-1/recording.mp4?X-Amz-Signature=abc',
    expiresAt: '2026-12-02T18:00:00Z',
    contentType: 'video/mp4',
  };

  it('parses a listing with a VOD, and one without (an operator that predates it)', () => {
    const withVod = { ...update, upserts: [{ ...listing, vod }] };
    expect(parseDirectoryUpdate(JSON.parse(JSON.stringify(withVod)))).toEqual(withVod);
    const plainHttp = { ...vod, url: 'http://minio.storage:9000/rec/x.mp4?X-Amz-Expires=21600' };
    expect(parseDirectoryUpdate({ ...update, upserts: [{ ...listing, vod: plainHttp }] }).upserts[0]?.vod).toEqual(
      plainHttp,
    );
  });

  it.each<[string, unknown]>([
    ['an s3:// URI', { ...vod, url: 's3://bucket/key.mp4' }],
    ['a javascript: URL', { ...vod, url: 'javascript:alert(1)' }],
    ['not a URL', { ...vod, url: 'recording.mp4' }],
    ['an over-long URL', { ...vod, url: `https://h/${'x'.repeat(8192)}` }],
    ['a bad expiry', { ...vod, expiresAt: 'later' }],
    ['another content type', { ...vod, contentType: 'text/html' }],
    ['no session', { ...vod, session: '' }],
    ['an unknown field', { ...vod, secretAccessKey: 'k' }],
  ])('refuses a VOD with %s, naming the field', (_what, value) => {
    const bad = { ...update, upserts: [{ ...listing, vod: value }] };
    expect(() => parseDirectoryUpdate(bad)).toThrow(/^the directory update is malformed at upserts\.0\.vod/);
  });

  it('takes a reset always, otherwise only the next update of the generation it holds', () => {
    const held = { generation: 'g1', sequence: 1 };
    expect(acceptsUpdate(held, update)).toBe(true);
    expect(acceptsUpdate(held, { ...update, sequence: 3 })).toBe(false);
    expect(acceptsUpdate(held, { ...update, sequence: 1 })).toBe(false);
    expect(acceptsUpdate(held, { ...update, generation: 'g2' })).toBe(false);
    expect(acceptsUpdate(held, { ...update, generation: 'g2', sequence: 9, reset: true })).toBe(true);
  });
});
