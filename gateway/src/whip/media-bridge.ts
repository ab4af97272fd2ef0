// The WHIP session's media path to the channel's transcoder: the RTP werift receives is sent over loopback UDP to a
// local ffmpeg that reads it through an SDP file, copies H.264, encodes Opus to AAC and publishes FLV over RTMP to
// the channel's ingest. So the transcoder sees an ordinary RTMP publisher (sessions, status, relays and recording
// unchanged). The stream key never is in ffmpeg's arguments (world-readable in /proc/<pid>/cmdline): the URL holds
// only host, port and app, and the key travels as the `rtmp_playpath` option of an unlinked preset file that ffmpeg
// opens through /dev/fd/3, the mechanism ADR 0003 proved for the relays.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, open, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChannelRoute } from '../../../contract/src/route-table.ts';
import { ffmpegSdp } from './whip-sdp.ts';

export interface MediaBridgeOptions {
  route: ChannelRoute;
  key: string;
  ffmpegPath?: string;
  onExit(code: number | null, tail: string): void;
  /** A line ffmpeg wrote (warnings and errors only: -loglevel warning), the key replaced by <key>. */
  onStderr?(line: string): void;
}

/** Binds to prove a port and its RTCP neighbour (port + 1, which ffmpeg opens too) are free, then lets them go. */
async function freeRtpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 20_000);
    const sockets = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    const ok = await Promise.all(
      sockets.map(
        (s, i) =>
          new Promise<boolean>((resolve) => {
            s.once('error', () => resolve(false));
            s.bind(port + i, '127.0.0.1', () => resolve(true));
          }),
      ),
    );
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free loopback UDP port pair for the media bridge');
}

export function ffmpegArgs(sdpFile: string, route: ChannelRoute): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'warning'],
    ...['-protocol_whitelist', 'file,udp,rtp', '-reorder_queue_size', '256'],
    // 1 s of probing: the SDP names both codecs and the first keyframe (asked for by PLI on the first packet) brings
    // SPS/PPS within a round trip; probing longer only delays going live (with 1 s the WHIP e2e's channel is Live
    // about 2 s after the streamer's Enter).
    ...['-analyzeduration', '1000000', '-probesize', '5000000', '-i', sdpFile],
    ...['-map', '0:v:0', '-map', '0:a:0', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '128k', '-ar', '48000'],
    ...['-f', 'flv', '-flvflags', 'no_duration_filesize', '-fpre', '/dev/fd/3'],
    `rtmp://${route.rtmp}/${route.app}`,
  ];
}

export class MediaBridge {
  private readonly socket = dgram.createSocket('udp4');
  private ports = { video: 0, audio: 0 };
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private tail = '';
  private closed = false;
  private readonly options: MediaBridgeOptions;

  constructor(options: MediaBridgeOptions) {
    this.options = options;
    this.socket.on('error', () => {}); // a loopback send to a port ffmpeg has not opened yet
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(path.join(tmpdir(), 'lso-whip-'));
    this.ports = { video: await freeRtpPort(), audio: await freeRtpPort() };
    const sdpFile = path.join(this.dir, 'input.sdp');
    await writeFile(sdpFile, ffmpegSdp(this.ports));
    // The preset file exists only between write and unlink, 0600 in a 0700 directory; ffmpeg reads it via fd 3.
    const presetFile = path.join(this.dir, 'publish.ffpreset');
    const handle = await open(presetFile, 'wx', 0o600);
    try {
      await handle.writeFile(`rtmp_app=${this.options.route.app}\nrtmp_playpath=${this.options.key}\n`);
      await unlink(presetFile);
      this.spawn(sdpFile, handle.fd);
    } finally {
      await unlink(presetFile).catch(() => {});
      await handle.close();
    }
  }

  private spawn(sdpFile: string, presetFd: number): void {
    const child = spawn(this.options.ffmpegPath ?? 'ffmpeg', ffmpegArgs(sdpFile, this.options.route), {
      stdio: ['ignore', 'ignore', 'pipe', presetFd],
    });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString().split(this.options.key).join('<key>');
      this.tail = (this.tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim() !== '') this.options.onStderr?.(line.trim().slice(0, 500));
    });
    // No ffmpeg to run (ENOENT): no 'exit' follows, so the session would hang holding the channel.
    child.once('error', (err) => {
      if (!this.closed) this.options.onExit(null, err.message);
    });
    child.once('exit', (code) => {
      if (!this.closed) this.options.onExit(code, this.tail);
    });
  }

  /** Forwards one RTP packet (already rewritten to the SDP's payload type) to ffmpeg. */
  send(kind: 'video' | 'audio', packet: Buffer): void {
    if (this.closed) return;
    this.socket.send(packet, this.ports[kind], '127.0.0.1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM'); // ffmpeg finishes the FLV and ends the RTMP publish
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
