import { describe, expect, it } from 'vitest';
import { apiVersion, kind } from '../../../contract/src/api/index.ts';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { parseAndResolve } from '../config/load-livestream.ts';
import { ConfigError } from '../config/livestream-spec.ts';
import { ProgressParser } from '../ffmpeg/ffmpeg-progress.ts';
import { parseKey, RelayKeyError, relayFfmpegCommand } from './relay-command.ts';
import { describeTarget, parseRelays } from './relay-targets.ts';
import { lastErrorLine, sanitizeError } from './sanitize.ts';

const input = 'rtmp://127.0.0.1:1935/live/lso-program';

// parseRelays gets spec.relays as the CRD's schema stored it: run the schema (defaults, rules) on what a user writes.
const stored = (relays: unknown[]) => validateSpec({ relays }).relays;

describe('parseRelays', () => {
  it('takes the schema-checked list as is, the protocol from the scheme', () => {
    expect(
      parseRelays(
        stored([
          { name: 'youtube', url: 'rtmp://a.rtmp.youtube.com/live2', keySecretRef: { name: 'yt' } },
          { name: 'fb', url: 'rtmps://live-api-s.facebook.com:443/rtmp/', enabled: false },
          { name: 'srt-1', url: 'srt://ingest.example.com:9000?latency=200000' },
        ]),
      ),
    ).toEqual([
      { name: 'youtube', protocol: 'rtmp', url: 'rtmp://a.rtmp.youtube.com/live2', enabled: true, keyed: true },
      { name: 'fb', protocol: 'rtmps', url: 'rtmps://live-api-s.facebook.com:443/rtmp/', enabled: false, keyed: false },
      {
        name: 'srt-1',
        protocol: 'srt',
        url: 'srt://ingest.example.com:9000?latency=200000',
        enabled: true,
        keyed: false,
      },
    ]);
    expect(parseRelays(undefined)).toEqual([]);
  });

  // What the CRD's schema lets through and ffmpeg could not use as meant.
  it.each([
    ['rtmp://h', /application path/],
    ['rtmps://h:443/', /application path/],
    ['srt://h', /needs a port/],
    ['srt://h:9000?srt_streamid=abc', /must not set srt_streamid/],
    ['rtmp://h/app#x', /must not have a #fragment/],
  ])('refuses %s with a clear error', (url, message) => {
    const relays = stored([{ name: 'a', url }]);
    expect(() => parseRelays(relays)).toThrow(ConfigError);
    expect(() => parseRelays(relays)).toThrow(message);
  });

  it('does not echo an unparsable URL (it may hold a pasted key)', () => {
    const relays = stored([{ name: 'a', url: 'rtmp://[bad/sekrit-key' }]);
    expect(() => parseRelays(relays)).toThrow(/^spec.relays\[0\].url is not/);
    expect(() => parseRelays(relays)).not.toThrow(/sekrit/);
  });

  // The rules parseRelays leaves to the CRD: the relay's config load refuses them before parseRelays runs.
  it.each([
    [[{ name: 'Bad_Name', url: 'rtmp://h/app' }], /spec\.relays\[0\]\.name/],
    [
      [
        { name: 'a', url: 'rtmp://h/app' },
        { name: 'a', url: 'rtmp://h/app' },
      ],
      /spec\.relays\[1\]: Duplicate value/,
    ],
    [Array.from({ length: 17 }, (_, i) => ({ name: `r${i}`, url: 'rtmp://h/app' })), /at most 16/],
    [[{ name: 'a', url: 'rtmp://user:pw@h/app' }], /must not carry credentials/],
    [[{ name: 'a', url: 'srt://h:9000?streamid=abc' }], /must not carry a key/],
    [[{ name: 'a', url: 'http://h/app' }], /rtmp:\/\/, rtmps:\/\/ or srt:\/\//],
  ])('leaves the CRD rules to the schema, which the config load applies (%#)', (relays, message) => {
    const text = JSON.stringify({ apiVersion, kind, metadata: { name: 'ch' }, spec: { relays } });
    expect(() => parseAndResolve(text, 'ls.json')).toThrow(ConfigError);
    expect(() => parseAndResolve(text, 'ls.json')).toThrow(message);
  });

  it('describes a target by scheme and host only', () => {
    expect(describeTarget({ url: 'rtmps://live-api-s.facebook.com:443/rtmp/' })).toBe(
      'rtmps://live-api-s.facebook.com:443',
    );
  });
});

describe('relayFfmpegCommand', () => {
  const [yt, fb, srt] = parseRelays(
    stored([
      { name: 'yt', url: 'rtmp://a.rtmp.youtube.com/live2?backup=1' },
      { name: 'fb', url: 'rtmps://live-api-s.facebook.com:443/rtmp/' },
      { name: 'srt', url: 'srt://ingest.example.com:9000?latency=200000' },
    ]),
  );

  it('rtmp: copies the program to flv; app and key go to the preset file, never to the arguments', () => {
    const cmd = relayFfmpegCommand(yt!, 'abcd-efgh-ijkl', input);
    expect(cmd.args.join(' ')).toBe(
      '-hide_banner -nostdin -loglevel info -nostats -progress pipe:1 -stats_period 1 ' +
        `-i ${input} -map 0 -c copy -f flv -flvflags no_duration_filesize -fpre /dev/fd/3 ` +
        'rtmp://a.rtmp.youtube.com:1935/live2?backup=1',
    );
    expect(cmd.preset).toBe('rtmp_app=live2?backup=1\nrtmp_playpath=abcd-efgh-ijkl\n');
  });

  it('rtmps: default port 443, trailing slash not part of the app, a key with a query string kept whole', () => {
    const cmd = relayFfmpegCommand(fb!, 'FB-123-0-Ab?s_bl=1&a=Ab', input);
    expect(cmd.args.at(-1)).toBe('rtmps://live-api-s.facebook.com:443/rtmp');
    expect(cmd.preset).toBe('rtmp_app=rtmp\nrtmp_playpath=FB-123-0-Ab?s_bl=1&a=Ab\n');
    expect(cmd.args.join(' ')).not.toContain('FB-123');
  });

  it('srt: mpegts with the key as streamid', () => {
    const cmd = relayFfmpegCommand(srt!, '#!::r=live/k1,m=publish', input);
    expect(cmd.args.slice(-4)).toEqual([
      'mpegts',
      '-fpre',
      '/dev/fd/3',
      'srt://ingest.example.com:9000?latency=200000',
    ]);
    expect(cmd.preset).toBe('streamid=#!::r=live/k1,m=publish\n');
  });

  // A relay without keySecretRef: the URL as written (stream name included), no preset file to read a key from.
  it.each([
    ['rtmp://cdn.example.com/live/channel-1', ['-f', 'flv', '-flvflags', 'no_duration_filesize']],
    ['rtmps://[2001:db8::1]:8443/app/name?x=1', ['-f', 'flv', '-flvflags', 'no_duration_filesize']],
    ['srt://ingest.example.com:9000?latency=200000', ['-f', 'mpegts']],
  ])('keyless: pushes to %s as written, without a preset', (url, format) => {
    const [target] = parseRelays(stored([{ name: 'open', url }]));
    expect(target!.keyed).toBe(false);
    const cmd = relayFfmpegCommand(target!, undefined, input);
    expect(cmd.preset).toBeUndefined();
    expect(cmd.args).not.toContain('-fpre');
    expect(cmd.args.slice(-format.length - 1)).toEqual([...format, url]);
  });

  it('reads one key line from a Secret file', () => {
    expect(parseKey('abc\n')).toBe('abc');
    expect(() => parseKey('\n')).toThrow(RelayKeyError);
    expect(() => parseKey('a\nb\n')).toThrow(/single line/);
    expect(() => parseKey('x'.repeat(901))).toThrow(/900/);
  });
});

describe('ProgressParser', () => {
  it('returns one report per block, across chunk boundaries, N/A counting as zero', () => {
    const p = new ProgressParser();
    expect(p.push('frame=1\ntotal_size=N/A\nout_time_us=N/A\nprogress=cont')).toEqual([]);
    expect(p.push('inue\nframe=26\ntotal_size=89382\nout_time_us=883000\nprogress=continue\ntotal_')).toEqual([
      { totalSize: 0, outTimeUs: 0, end: false },
      { totalSize: 89382, outTimeUs: 883000, end: false },
    ]);
    expect(p.push('size=402020\nout_time_us=-23000\nprogress=end\n')).toEqual([
      { totalSize: 402020, outTimeUs: 0, end: true },
    ]);
  });
});

describe('sanitizeError', () => {
  it('removes the key (also percent-encoded), the URL path and ffmpeg context prefixes', () => {
    const key = 'FB-1?s=1&a=b';
    expect(
      sanitizeError(`[rtmp @ 0x55d0c3a1b2c0] Server error: stream ${key} rejected (${encodeURIComponent(key)})`, [key]),
    ).toBe('Server error: stream [redacted] rejected ([redacted])');
    expect(sanitizeError('rtmp://a.rtmp.youtube.com:1935/live2/abc: Connection refused', [])).toBe(
      'rtmp://a.rtmp.youtube.com:1935: Connection refused',
    );
    expect(sanitizeError('x'.repeat(400), []).length).toBe(300);
  });

  it('picks the telling line of a failure, not the generic epilogue', () => {
    const lines = [
      "Output #0, flv, to 'rtmp://127.0.0.1:5000/app':",
      'av_interleaved_write_frame(): Broken pipe',
      'Error writing trailer of rtmp://127.0.0.1:5000/app: Broken pipe',
      'Conversion failed!',
    ];
    expect(lastErrorLine(lines)).toBe('Error writing trailer of rtmp://127.0.0.1:5000/app: Broken pipe');
  });
});
