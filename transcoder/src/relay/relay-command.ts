// The ffmpeg command of one relay: copy the program stream (played from the loopback ingest) to one target.
//
// The key never appears in the arguments (they are visible to anyone who can run `ps`): ffmpeg reads the options
// that carry it from a preset file (`-fpre`), handed over as an inherited file descriptor of an already-unlinked
// file (see docs/adr/0003-relay-keys-out-of-argv.md). For rtmp(s) the key is the RTMP playpath (the stream name of
// the publish command) and the application is set explicitly; for SRT it is the streamid. A relay without a key
// (no keySecretRef) pushes to its URL as written, with no preset file: the URL is spec, not a secret.
import { rtmpApp, type RelayTarget } from './relay-targets.ts';

export interface RelayFfmpegCommand {
  args: string[];
  preset: string | undefined; // content of the preset file (option=value lines, secret); none for a keyless relay
}

// The descriptor number on which the relay process passes the preset file to ffmpeg.
export const presetFd = 3;

export class RelayKeyError extends Error {
  override name = 'RelayKeyError';
}

// A key file holds one line; the trailing newline `kubectl create secret --from-file` may leave is dropped.
export function parseKey(content: string): string {
  const key = content.replace(/\r?\n$/, '').trim();
  if (key === '') throw new RelayKeyError('the relay key file is empty');
  if (/[\r\n]/.test(key)) throw new RelayKeyError('the relay key file must hold a single line');
  // ffmpeg reads preset lines into a 1000-byte buffer.
  if (key.length > 900) throw new RelayKeyError('the relay key is longer than 900 characters');
  return key;
}

export function relayFfmpegCommand(target: RelayTarget, key: string | undefined, inputUrl: string): RelayFfmpegCommand {
  const url = new URL(target.url);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'info', '-nostats'];
  // Progress blocks (total_size, out_time_us) on stdout every second: how the supervisor knows bytes are flowing.
  args.push('-progress', 'pipe:1', '-stats_period', '1');
  args.push('-i', inputUrl, '-map', '0', '-c', 'copy');
  const format = target.protocol === 'srt' ? ['-f', 'mpegts'] : ['-f', 'flv', '-flvflags', 'no_duration_filesize'];
  if (key === undefined) {
    args.push(...format, target.url);
    return { args, preset: undefined };
  }
  let preset: string;
  if (target.protocol === 'srt') {
    preset = `streamid=${key}\n`;
    args.push(...format, '-fpre', `/dev/fd/${presetFd}`, target.url);
  } else {
    const app = rtmpApp(url);
    const port = url.port || (target.protocol === 'rtmps' ? '443' : '1935');
    preset = `rtmp_app=${app}\nrtmp_playpath=${key}\n`;
    args.push(...format, '-fpre', `/dev/fd/${presetFd}`);
    args.push(`${target.protocol}://${url.hostname}:${port}/${app}`); // hostname keeps an IPv6 address's brackets
  }
  return { args, preset };
}
