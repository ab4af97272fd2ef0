// What the published source is, read from its first packets inside node-media-server (no ffprobe round trip delays
// the ladder): the codec ids, the AVC decoder configuration record (profile, RFC 6381 string, SPS dimensions) and
// whether there is audio at all. A source that sends no audio header within `audioWaitMs` of its video header is
// taken as video-only, so a silent encoder does not hold the ladder back; one that sends no video header within
// `audioWaitMs` of its audio header is audio-only (radio, podcasts). A browser-safe H.264 source, which the ladder
// may copy, is reported once its keyframe interval is measured (two keyframes), or once the stream's own timestamps
// have run `keyframeWaitMs` past the first keyframe without another, the interval known to be longer: a copied
// stream can only be cut at its keyframes. Stream time, not arrival time: an encoder's start-up burst or a late first
// keyframe must not decide passthrough. A wall-clock timer of twice the wait covers a stream that stops sending.
import {
  audioCodecName,
  isBrowserSafeH264Profile,
  noVideo,
  parseAvcDecoderConfig,
  videoCodecName,
  type SourceInfo,
} from '../ladder/source-info.ts';
import { parseH264Sps, type NmsPacket, type NmsSession } from './nms.ts';

/** What node-media-server read from the publisher's onMetaData (0 or empty when the encoder sent none). */
export type SourceMetadata = Pick<NmsSession, 'videoWidth' | 'videoHeight' | 'videoFramerate' | 'videoDatarate'>;

export interface SourceHeaders {
  videoHeader: Buffer | null; // the FLV video tag body of the sequence header
  videoCodecId: number | undefined;
  audioCodecId: number | undefined;
  audioHeaderSeen: boolean;
}

// FLV tag types and the packet flags node-media-server sets (nms.ts).
const audioTag = 8;
const videoTag = 9;
const flvAac = 10;
const packetFlags = { audioHeader: 0, videoHeader: 2, keyframe: 3, frame: 4 } as const;

/** The source as the ladder sees it: the sequence headers first, the encoder's metadata where they say nothing. */
export function describeSource(headers: SourceHeaders, metadata: SourceMetadata): SourceInfo {
  // Legacy FLV and enhanced RTMP both put the decoder configuration record 5 bytes into the tag body.
  const avc = headers.videoHeader !== null ? parseAvcDecoderConfig(headers.videoHeader.subarray(5)) : null;
  const dims = avc?.sps ? parseH264Sps(avc.sps) : null;
  const announcedKbps = Number(metadata.videoDatarate);
  const hasVideo = headers.videoHeader !== null || headers.videoCodecId !== undefined;
  return {
    videoCodec: hasVideo ? videoCodecName(headers.videoCodecId) : noVideo,
    audioCodec: headers.audioHeaderSeen ? audioCodecName(headers.audioCodecId) : null,
    width: hasVideo ? (dims?.width ?? (metadata.videoWidth || 0)) : 0,
    height: hasVideo ? (dims?.height ?? (metadata.videoHeight || 0)) : 0,
    fps: hasVideo ? Number(metadata.videoFramerate) || 0 : 0,
    profile: avc?.profile ?? null,
    ...(avc ? { codecString: avc.codecString } : {}),
    ...(hasVideo && announcedKbps > 0 ? { videoBitrateKbps: Math.round(announcedKbps) } : {}),
  };
}

/** Watches one publisher's packets: reports the source once, and counts video frames for the measured fps. */
export class SourceProbe {
  /** Video frames received so far (keyframes and inter frames). */
  frames = 0;
  private readonly headers: SourceHeaders = {
    videoHeader: null,
    videoCodecId: undefined,
    audioCodecId: undefined,
    audioHeaderSeen: false,
  };
  private readonly metadata: SourceMetadata;
  private readonly audioWaitMs: number;
  private readonly onReady: (source: SourceInfo) => void;
  private source: SourceInfo | undefined;
  private done = false;
  private audioTimer: NodeJS.Timeout | undefined;
  private readonly keyframeWaitMs: number;
  private readonly keyframeDts: number[] = [];
  private keyframeTimer: NodeJS.Timeout | undefined;
  private pending: SourceInfo | undefined; // decided, waiting for its keyframe interval

  constructor(
    metadata: SourceMetadata,
    audioWaitMs: number,
    onReady: (source: SourceInfo) => void,
    // 1.1 x the segment (the default suits 2 s segments): a longer keyframe interval refuses passthrough.
    keyframeWaitMs = 2_200,
  ) {
    this.metadata = metadata;
    this.audioWaitMs = audioWaitMs;
    this.onReady = onReady;
    this.keyframeWaitMs = keyframeWaitMs;
  }

  /** The source, once it is known. */
  get info(): SourceInfo | undefined {
    return this.source;
  }

  observe(packet: NmsPacket): void {
    if (packet.codec_type === videoTag) this.observeVideo(packet);
    else if (packet.codec_type === audioTag) this.observeAudio(packet);
  }

  /** The publisher left: nothing is reported after this. */
  close(): void {
    this.done = true;
    clearTimeout(this.audioTimer);
    clearTimeout(this.keyframeTimer);
  }

  private observeVideo(packet: NmsPacket): void {
    const h = this.headers;
    h.videoCodecId ??= packet.codec_id;
    if (packet.flags === packetFlags.videoHeader && h.videoHeader === null) {
      h.videoHeader = Buffer.from(packet.data);
      clearTimeout(this.audioTimer);
      this.audioTimer = setTimeout(() => this.ready(), this.audioWaitMs);
      if (h.audioHeaderSeen) this.ready();
    } else if (packet.flags === packetFlags.keyframe || packet.flags === packetFlags.frame) {
      this.frames++;
      if (packet.flags === packetFlags.keyframe && this.keyframeDts.length < 2) this.keyframe(packet.dts);
      else if (this.pending !== undefined && this.pastKeyframeWait(packet.dts)) this.report(this.pending);
    }
  }

  /** The stream has run longer than the wait since its first keyframe: the interval is longer than the wait. */
  private pastKeyframeWait(dts: number): boolean {
    const [first] = this.keyframeDts;
    return first !== undefined && this.keyframeDts.length === 1 && dts - first > this.keyframeWaitMs;
  }

  private keyframe(dts: number): void {
    this.keyframeDts.push(dts);
    if (this.pending === undefined) return;
    if (this.keyframeDts.length === 2) this.report(this.pending);
    else this.awaitSecondKeyframe(this.pending);
  }

  // Stream time decides (observeVideo); this only covers a publisher that stops sending before either happens.
  private awaitSecondKeyframe(source: SourceInfo): void {
    this.keyframeTimer = setTimeout(() => this.report(source), 2 * this.keyframeWaitMs);
  }

  private observeAudio(packet: NmsPacket): void {
    const h = this.headers;
    h.audioCodecId ??= packet.codec_id;
    // Only AAC has a sequence header; any packet of another codec proves there is audio.
    if (packet.flags === packetFlags.audioHeader || packet.codec_id !== flvAac) {
      if (!h.audioHeaderSeen && h.videoHeader === null) {
        this.audioTimer = setTimeout(() => this.ready(), this.audioWaitMs);
      }
      h.audioHeaderSeen = true;
      if (h.videoHeader !== null) this.ready();
    }
  }

  // Both headers are decided: report now, or once the keyframe interval of a source the ladder may copy is known.
  private ready(): void {
    if (this.done || this.pending !== undefined) return;
    clearTimeout(this.audioTimer);
    const source = describeSource(this.headers, this.metadata);
    this.pending = source;
    const copyable = source.videoCodec === 'h264' && isBrowserSafeH264Profile(source.profile);
    if (!copyable || this.keyframeDts.length === 2) return this.report(source);
    if (this.keyframeDts.length === 1) this.awaitSecondKeyframe(source);
  }

  private report(source: SourceInfo): void {
    if (this.done) return;
    this.close();
    const [first, second] = this.keyframeDts;
    if (first !== undefined && second !== undefined && second > first) {
      source.keyframeIntervalSeconds = (second - first) / 1000;
    } else if (source.videoCodec !== noVideo) {
      source.keyframeIntervalOverSeconds = this.keyframeWaitMs / 1000;
    }
    this.source = source;
    this.onReady(source);
  }
}
