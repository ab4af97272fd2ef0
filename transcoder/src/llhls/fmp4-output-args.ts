// The ffmpeg output options that make the mp4 muxer (ffmpeg 5.1) write one rendition as fragmented MP4 whose
// fragments are LL-HLS parts, to a pipe the packager reads (pure).
// - empty_moov: the init segment carries no samples; delay_moov: written when the first fragment is cut, so an
//   audio track that starts at a negative dts (AAC priming) gets its edit list instead of a warning.
// - default_base_moof + cmaf: CMAF fragments (offsets relative to their moof), one moof+mdat per fragment;
//   skip_sidx and skip_trailer: no per-fragment index and no mfra at the end, which nothing live reads.
// - frag_keyframe: a video keyframe always starts a fragment, so every segment boundary (a forced keyframe on the
//   segment grid) starts a part.
// - frag_duration: the muxer cuts a fragment once the next sample's dts is that far past the fragment's first, so a
//   fragment spans ceil(frag_duration / sample) samples, which can exceed frag_duration by up to one sample (15
//   frames of 25 fps are 0.52 s for 0.5 s). Asking for half a sample less than the whole samples that fit in the
//   part target gives floor(target / sample) samples per part: never above PART-TARGET, and at least 85 % of it
//   (hls-parser's strict rule for every part but a segment's last) as long as a sample is at most 15 % of it.
// - flush_packets: each fragment reaches the pipe when it is cut, not when the 32 KiB buffer fills.

export interface Fmp4OutputOptions {
  partTarget: number; // seconds
  sampleSeconds: number; // one video frame (1 / fps), or one audio frame (1024 / sample rate for AAC)
  output: string; // e.g. 'pipe:3'
}

/** -frag_duration in microseconds: floor(target / sample) samples, less half a sample. */
export function fragmentDurationMicros(partTarget: number, sampleSeconds: number): number {
  if (!(sampleSeconds > 0) || sampleSeconds > partTarget) {
    throw new Error(`a sample of ${sampleSeconds} s does not fit a part of ${partTarget} s`);
  }
  const samples = Math.floor(partTarget / sampleSeconds + 1e-9);
  return Math.round((samples - 0.5) * sampleSeconds * 1e6);
}

export function fmp4OutputArgs(options: Fmp4OutputOptions): string[] {
  const flags = ['empty_moov', 'delay_moov', 'default_base_moof', 'cmaf', 'frag_keyframe', 'skip_sidx', 'skip_trailer'];
  return [
    '-f', 'mp4',
    '-movflags', flags.join('+'),
    '-frag_duration', String(fragmentDurationMicros(options.partTarget, options.sampleSeconds)),
    '-flush_packets', '1',
    options.output,
  ]; // prettier-ignore
}
