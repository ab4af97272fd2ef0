// The studio page's pure browser module, loaded as the browser loads it (plain JavaScript, no types).
import { describe, expect, it } from 'vitest';

interface Codec {
  mimeType: string;
  sdpFmtpLine?: string;
}
interface Core {
  refusalText(status: number, body?: string, retryAfterSeconds?: number): string;
  worthRetrying(status: number | undefined): boolean;
  backoffMs(attempt: number, random?: number): number;
  bytesSent(report: Iterable<[string, { type: string; bytesSent?: number }]>): number;
  kbitsPerSecond(a: { bytes: number; at: number } | undefined, b: { bytes: number; at: number }): number | undefined;
  h264First(codecs: Codec[]): Codec[];
  bitrateText(kbps: number | undefined): string;
}

const core = (await import(new URL('./client/studio-core.js', import.meta.url).href)) as Core;

describe('studio-core', () => {
  it('tells the streamer what each WHIP refusal means, with the gateway’s own detail', () => {
    expect(core.refusalText(401, 'unknown stream key')).toBe('Wrong stream key for this channel.');
    expect(core.refusalText(409)).toMatch(/live already/);
    expect(core.refusalText(406, 'offered video: vp8')).toMatch(/H\.264.*offered video: vp8/);
    expect(core.refusalText(429, '', 10)).toMatch(/Try again in 10 s/);
    expect(core.refusalText(503)).toMatch(/limit/);
    expect(core.refusalText(413, 'offer too large')).toBe('The gateway refused the publish (413): offer too large');
  });

  it('retries while reconnecting only what passes by itself', () => {
    expect([undefined, 409, 429, 500, 502, 503].every((s) => core.worthRetrying(s))).toBe(true);
    expect([401, 406, 413, 415].some((s) => core.worthRetrying(s))).toBe(false);
  });

  it('backs off 1, 2, 4, 8, then 10 s, each within 20 %', () => {
    expect([0, 1, 2, 3, 4, 9].map((n) => core.backoffMs(n, 0.5))).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    expect(core.backoffMs(0, 0)).toBe(800);
    expect(core.backoffMs(0, 0.999)).toBeLessThanOrEqual(1200);
  });

  it('reads the send bitrate from outbound-rtp bytesSent of two samples', () => {
    const report = new Map([
      ['v', { type: 'outbound-rtp', bytesSent: 100_000 }],
      ['a', { type: 'outbound-rtp', bytesSent: 25_000 }],
      ['t', { type: 'transport', bytesSent: 999_999 }],
    ]);
    expect(core.bytesSent(report)).toBe(125_000);
    expect(core.kbitsPerSecond({ bytes: 0, at: 0 }, { bytes: 125_000, at: 1000 })).toBe(1000);
    expect(core.kbitsPerSecond(undefined, { bytes: 1, at: 1 })).toBeUndefined();
    expect(core.kbitsPerSecond({ bytes: 5, at: 0 }, { bytes: 1, at: 1000 })).toBeUndefined(); // a new connection
    expect([core.bitrateText(1840), core.bitrateText(640.4), core.bitrateText(undefined)]).toEqual([
      '1.8 Mbit/s',
      '640 kbit/s',
      '–',
    ]);
  });

  it('puts H.264 packetization-mode 1 first and keeps the rest in order', () => {
    const codecs: Codec[] = [
      { mimeType: 'video/VP8' },
      { mimeType: 'video/H264', sdpFmtpLine: 'packetization-mode=0;profile-level-id=42e01f' },
      { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1' },
      { mimeType: 'video/rtx' },
    ];
    expect(core.h264First(codecs).map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ''}`.trim())).toEqual([
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1',
      'video/VP8',
      'video/H264 packetization-mode=0;profile-level-id=42e01f',
      'video/rtx',
    ]);
  });
});
