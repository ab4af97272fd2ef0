import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { redact, redactDeep } from './redact.ts';

describe('redact', () => {
  it('cuts media URLs to scheme://host:port, keeping the colon of "URL: message"', () => {
    expect(redact('rtmp://a.rtmp.youtube.com:1935/live2/abc: Connection refused')).toBe(
      'rtmp://a.rtmp.youtube.com:1935: Connection refused',
    );
    expect(redact("Output #0, flv, to 'rtmps://user:pw@live.example.com:443/app/k?x=1':")).toBe(
      "Output #0, flv, to 'rtmps://live.example.com:443':",
    );
    expect(redact('srt://ingest.example.com:9000?streamid=abc&passphrase=longsecret failed')).toBe(
      'srt://ingest.example.com:9000 failed',
    );
    expect(redact('RTSP rtsp://[::1]:554/cam/key x')).toBe('RTSP rtsp://[::1]:554 x');
  });

  it('removes credentials and secret parameters from other URLs, keeping what locates the resource', () => {
    expect(redact('redis://:hunter22@redis.ns.svc:6379/0 down')).toBe('redis://[redacted]@redis.ns.svc:6379/0 down');
    expect(redact('GET https://s3.example.com/b/o?X-Amz-Signature=abcd&part=2')).toBe(
      'GET https://s3.example.com/b/o?X-Amz-Signature=[redacted]&part=2',
    );
    expect(redact('https://example.com/page?token=t0k3n#top')).toBe('https://example.com/page?token=[redacted]#top');
  });

  it('removes key=value pairs whose name says secret, and leaves other text alone', () => {
    expect(redact('rtmp_playpath=live_123 streamid=abc passphrase=p4ss')).toBe(
      'rtmp_playpath=[redacted] streamid=[redacted] passphrase=[redacted]',
    );
    const plain = 'frame=  120 fps= 30 size=1024kB monkey=banana /var/lib/hls/720p/index.m3u8';
    expect(redact(plain)).toBe(plain);
  });

  it('removes known secret values, also percent-encoded, longest first; ignores values too short to be keys', () => {
    const key = 'FB-1?s=1&a=b';
    expect(redact(`stream ${key} rejected (${encodeURIComponent(key)})`, { secrets: [key] })).toBe(
      'stream [redacted] rejected ([redacted])',
    );
    expect(redact('abcdef and abc', { secrets: ['abc', 'abcdef'] })).toBe('[redacted] and [redacted]');
    expect(redact('a b', { secrets: ['a', ''] })).toBe('a b');
  });

  it('with streamPaths, removes the stream names node-media-server logs', () => {
    const lines = [
      'RTMP session abc 1.2.3.4:5 push /live/my-secret-key error, streamPath=/live/my-secret-key already has a publisher',
      'RTMP session abc invalid stream path characters: app=live, name=my.secret',
      'FLV session x start play /live/my-secret-key',
    ];
    for (const l of lines) expect(redact(l, { streamPaths: true })).not.toMatch(/secret/);
    expect(redact(lines[0]!, { streamPaths: true })).toContain('/live/[redacted]');
    expect(redact(lines[2]!)).toContain('/live/my-secret-key'); // off by default: a path is usually a file
  });

  it('redacts every string of a record, errors included, and leaves other values as they are', () => {
    const at = new Date(0);
    const out = redactDeep({ n: 1, at, list: ['rtmp://h/app/k1'], err: new Error('push to srt://h:1?streamid=k2') });
    expect(out).toMatchObject({ n: 1, at, list: ['rtmp://h'], err: { type: 'Error', message: 'push to srt://h:1' } });
    expect(JSON.stringify(out)).not.toMatch(/k1|k2/);
  });
});

describe('createLogger', () => {
  it('redacts messages, format arguments, fields and errors, and censors secret-named fields', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('test', 'info', sink);
    logger.info({ url: 'rtmp://h:1935/live/k-one', streamKey: 'k-two' }, 'pushing to %s', 'rtmp://h/app/k-three');
    logger.child({ component: 'c' }).error({ err: new Error('refused: rtmps://h/app/k-four') }, 'failed');
    const text = lines.join('');
    expect(text).not.toMatch(/k-one|k-two|k-three|k-four/);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ url: 'rtmp://h:1935', streamKey: '[redacted]', msg: 'pushing to rtmp://h' });
    expect(second).toMatchObject({ component: 'c', err: { message: 'refused: rtmps://h' }, msg: 'failed' });
  });
});
