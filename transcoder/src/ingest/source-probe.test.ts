import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { noVideo, type SourceInfo } from '../ladder/source-info.ts';
import type { NmsPacket } from './nms.ts';
import { describeSource, SourceProbe, type SourceMetadata } from './source-probe.ts';

// The SPS x264 writes for 640x360 High (ffmpeg -f lavfi -i testsrc=size=640x360 -c:v libx264 -profile:v high).
const sps640x360 = Buffer.from('6764001eacd940a02ff970110000030001000003003c0f162d96', 'hex');

/** An FLV AVC sequence header tag body: 5 bytes of tag header, then the AVCDecoderConfigurationRecord. */
function avcHeader(sps: Buffer | null): Buffer {
  const record = [1, 0x64, 0x00, 0x1e, 0xff, sps ? 0xe1 : 0xe0];
  const spsPart = sps ? [...Buffer.from([sps.length >> 8, sps.length & 0xff]), ...sps] : [0, 0];
  return Buffer.from([0x17, 0, 0, 0, 0, ...record, ...spsPart]);
}

const packet = (over: Partial<NmsPacket>): NmsPacket => ({
  codec_type: 9,
  codec_id: 7,
  flags: 4,
  pts: 0,
  dts: 0,
  size: 0,
  data: Buffer.alloc(0),
  ...over,
});
const videoHeader = (sps: Buffer | null = sps640x360) => packet({ flags: 2, data: avcHeader(sps) });
const aacHeader = packet({ codec_type: 8, codec_id: 10, flags: 0 });
const aacFrame = packet({ codec_type: 8, codec_id: 10, flags: 1 });
const metadata: SourceMetadata = { videoWidth: 1920, videoHeight: 1080, videoFramerate: 25, videoDatarate: 2500.4 };

describe('describeSource', () => {
  it('takes codec, profile and size from the sequence header, fps and bitrate from the metadata', () => {
    const headers = { videoHeader: avcHeader(sps640x360), videoCodecId: 7, audioCodecId: 10, audioHeaderSeen: true };
    expect(describeSource(headers, metadata)).toEqual({
      videoCodec: 'h264',
      audioCodec: 'aac',
      width: 640,
      height: 360,
      fps: 25,
      profile: 'high',
      codecString: 'avc1.64001e',
      videoBitrateKbps: 2500,
    });
  });

  it('falls back to the metadata size without an SPS, and says "no audio" without an audio header', () => {
    const headers = { videoHeader: avcHeader(null), videoCodecId: 7, audioCodecId: 10, audioHeaderSeen: false };
    const source = describeSource(headers, { ...metadata, videoDatarate: 0 });
    expect(source).toMatchObject({ width: 1920, height: 1080, audioCodec: null });
    expect(source).not.toHaveProperty('videoBitrateKbps');
  });
});

const twoKeyframes = (p: SourceProbe, intervalMs: number): void => {
  p.observe(packet({ flags: 3, dts: 1_000 }));
  p.observe(packet({ flags: 3, dts: 1_000 + intervalMs }));
};

describe('SourceProbe', () => {
  let ready: SourceInfo[];
  const probe = (audioWaitMs = 1_000) => new SourceProbe(metadata, audioWaitMs, (s) => ready.push(s));
  beforeEach(() => {
    vi.useFakeTimers();
    ready = [];
  });
  afterEach(() => vi.useRealTimers());

  it('reports once both sequence headers are in, whatever their order, and only once', () => {
    const p = probe();
    p.observe(aacHeader);
    expect(ready).toHaveLength(0);
    p.observe(videoHeader());
    p.observe(videoHeader());
    twoKeyframes(p, 2_000);
    vi.advanceTimersByTime(5_000);
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ audioCodec: 'aac', width: 640 });
    expect(p.info).toBe(ready[0]);
  });

  it('decides "no audio" audioWaitMs after the video header', () => {
    const p = probe(500);
    p.observe(videoHeader());
    twoKeyframes(p, 2_000);
    vi.advanceTimersByTime(499);
    expect(ready).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(ready).toEqual([expect.objectContaining({ audioCodec: null })]);
    p.observe(aacHeader);
    expect(ready).toHaveLength(1);
  });

  it('counts audio of a codec without a sequence header (MP3) as audio', () => {
    const p = probe();
    p.observe(videoHeader());
    twoKeyframes(p, 2_000);
    p.observe(packet({ codec_type: 8, codec_id: 2, flags: 1 }));
    expect(ready).toEqual([expect.objectContaining({ audioCodec: 'mp3' })]);
  });

  it('counts video frames, not headers or audio', () => {
    const p = probe();
    for (const pk of [videoHeader(), packet({ flags: 3 }), packet({ flags: 4 }), packet({ flags: 4 }), aacFrame]) {
      p.observe(pk);
    }
    expect(p.frames).toBe(3);
  });

  it('reports nothing once closed (the publisher left before the audio wait ran out)', () => {
    const p = probe();
    p.observe(videoHeader());
    p.close();
    vi.advanceTimersByTime(5_000);
    p.observe(aacHeader);
    expect(ready).toHaveLength(0);
    expect(p.info).toBeUndefined();
  });

  it('measures the keyframe interval of a source the ladder may copy before reporting it', () => {
    const p = probe();
    p.observe(videoHeader());
    p.observe(aacHeader);
    expect(ready).toHaveLength(0);
    twoKeyframes(p, 2_000);
    expect(ready).toEqual([expect.objectContaining({ keyframeIntervalSeconds: 2 })]);
  });

  it('reports a GOP longer than the wait as over it once the stream time passes the wait', () => {
    const p = new SourceProbe(metadata, 1_000, (s) => ready.push(s), 2_200);
    p.observe(videoHeader());
    p.observe(aacHeader);
    vi.advanceTimersByTime(5_000); // no keyframe yet: the wait has not started
    expect(ready).toHaveLength(0);
    p.observe(packet({ flags: 3, dts: 1_000 }));
    p.observe(packet({ flags: 4, dts: 3_200 })); // 2.2 s of stream after the keyframe: not past the wait yet
    expect(ready).toHaveLength(0);
    p.observe(packet({ flags: 4, dts: 3_240 }));
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ keyframeIntervalOverSeconds: 2.2 });
    expect(ready[0]).not.toHaveProperty('keyframeIntervalSeconds');
  });

  it('measures by stream time, not arrival: a late first keyframe followed by a burst is a 2 s GOP', () => {
    const p = new SourceProbe(metadata, 1_000, (s) => ready.push(s), 2_200);
    p.observe(videoHeader());
    p.observe(aacHeader);
    p.observe(packet({ flags: 3, dts: 0 }));
    vi.advanceTimersByTime(3_000); // the encoder stalled, then sends the rest of the GOP at once
    expect(ready).toHaveLength(0);
    for (let dts = 33; dts < 2_000; dts += 33) p.observe(packet({ flags: 4, dts }));
    p.observe(packet({ flags: 3, dts: 2_000 }));
    expect(ready).toEqual([expect.objectContaining({ keyframeIntervalSeconds: 2 })]);
  });

  it('gives up on a stream that stops sending after twice the wait', () => {
    const p = new SourceProbe(metadata, 1_000, (s) => ready.push(s), 2_200);
    p.observe(videoHeader());
    p.observe(aacHeader);
    p.observe(packet({ flags: 3, dts: 0 }));
    vi.advanceTimersByTime(4_399);
    expect(ready).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(ready).toEqual([expect.objectContaining({ keyframeIntervalOverSeconds: 2.2 })]);
  });

  it('does not wait for keyframes of a source that is encoded anyway (HEVC)', () => {
    const p = probe();
    p.observe(packet({ codec_id: 12, flags: 2, data: Buffer.alloc(8) }));
    p.observe(aacHeader);
    expect(ready).toEqual([expect.objectContaining({ videoCodec: 'hevc' })]);
  });

  it('decides "audio only" audioWaitMs after an audio header with no video header', () => {
    const p = probe(500);
    p.observe(aacHeader);
    vi.advanceTimersByTime(499);
    expect(ready).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(ready).toEqual([expect.objectContaining({ videoCodec: noVideo, audioCodec: 'aac', width: 0, height: 0 })]);
  });
});
