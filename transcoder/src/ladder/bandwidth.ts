// What the master playlist declares per variant. BANDWIDTH is, by the HLS spec (RFC 8216 4.3.4.2), the peak bitrate
// over the segments, so it must be an upper bound, not the target. x264's VBV guarantees that no interval of T
// seconds holds more than bufsize + maxrate x T bits, so a segment's video bitrate is at most maxrate + bufsize / T.
// MPEG-TS adds its packet headers, PES headers and the padding of each PES's last packet: a few percent on video,
// more on audio's small PES packets; ffmpeg's AAC encoder swings a little around its target.
const tsOverhead = 1.08;
const audioPeakFactor = 1.1 * tsOverhead;

export interface PeakInputs {
  maxrateKbps?: number;
  bufsizeKbps?: number;
  audioKbps: number;
  segmentSeconds: number;
}

/** The peak segment bitrate of a variant in bit/s: encoded video (if any) and audio, container included. */
export function peakBandwidth({ maxrateKbps = 0, bufsizeKbps = 0, audioKbps, segmentSeconds }: PeakInputs): number {
  const videoKbps = maxrateKbps + bufsizeKbps / segmentSeconds;
  return Math.ceil((videoKbps * tsOverhead + audioKbps * audioPeakFactor) * 1000);
}

/** AVERAGE-BANDWIDTH in bit/s: the targets, container included. */
export function averageBandwidth(videoKbps: number, audioKbps: number): number {
  return Math.ceil((videoKbps + audioKbps) * tsOverhead * 1000);
}

/** The inverse of peakBandwidth: the video kbit/s (maxrate + bufsize / segment) a declared BANDWIDTH leaves room for. */
export function videoPeakKbps(bandwidth: number, audioKbps: number): number {
  return Math.max(0, (bandwidth / 1000 - audioKbps * audioPeakFactor) / tsOverhead);
}
