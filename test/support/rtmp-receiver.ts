// A stand-in for a restreaming platform (YouTube, Twitch...): ffmpeg listening for one RTMP publish on a loopback
// port and writing what it receives, unchanged, to an FLV file. It is started with a placeholder stream name, so no
// key is in its arguments; ffmpeg logs the name the publisher actually used ("Unexpected stream <name>, expecting
// <placeholder>"), which is how a test checks that the key reached the platform.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { waitFor } from './wait-for.ts';

export interface ReceiverOptions {
  port: number;
  app: string;
  file: string; // where the received stream is written (FLV)
}

export interface Receiver {
  process: ChildProcess;
  file: string;
  exited: Promise<void>;
  running(): boolean;
  log(): string;
  receivedStreamName(): string | undefined;
  receivedApp(): string | undefined; // only logged by ffmpeg when it differs from ours
  kill(): Promise<void>; // abrupt, like a platform dropping the connection
  stop(): Promise<void>;
}

export const placeholderStreamName = 'receiver';

// Whether something listens on 127.0.0.1:port, read from /proc (a test connection would be the one publish ffmpeg
// accepts in -listen mode).
export async function isListening(port: number): Promise<boolean> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[1] === local && cols[3] === '0A';
  });
}

export async function startRtmpReceiver(options: ReceiverOptions): Promise<Receiver> {
  const url = `rtmp://127.0.0.1:${options.port}/${options.app}/${placeholderStreamName}`;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'info', '-nostats', '-listen', '1', '-f', 'flv', '-i', url];
  args.push('-c', 'copy', '-f', 'flv', '-flvflags', 'no_duration_filesize', '-y', options.file);
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    log = (log + chunk).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (!running()) return;
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    proc.kill(signal);
    await exited;
    clearTimeout(timer);
  };
  const receiver: Receiver = {
    process: proc,
    file: options.file,
    exited,
    running,
    log: () => log,
    receivedStreamName: () => /Unexpected stream (.+), expecting /.exec(log)?.[1],
    receivedApp: () => /App field don't match up: (.+) <-> /.exec(log)?.[1],
    kill: () => end('SIGKILL'),
    stop: () => end('SIGINT'),
  };
  try {
    await waitFor(`receiver listening on ${options.port}`, async () => running() && (await isListening(options.port)), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
  } catch (err) {
    await receiver.kill();
    throw new Error(`${(err as Error).message}: ${log}`, { cause: err });
  }
  return receiver;
}
