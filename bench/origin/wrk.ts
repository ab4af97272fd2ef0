// wrk on loopback, and the parsing of its report (pure part unit-tested).
import { execFile } from 'node:child_process';

export interface WrkResult {
  requestsPerSecond: number;
  latencyP99Ms: number;
  non2xx: number;
  socketErrors: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

export function parseWrkOutput(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) throw new Error(`no Requests/sec in wrk output:\n${text}`);
  const p99 = /\n\s+99%\s+([\d.]+)(us|ms|s|m)\b/.exec(text);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requestsPerSecond: Number(rps[1]),
    latencyP99Ms: p99 ? toMs(p99[1]!, p99[2]!) : NaN,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

export function runWrk(
  url: string,
  options: { seconds: number; connections: number; threads: number },
): Promise<WrkResult> {
  const args = ['-t', String(options.threads), '-c', String(options.connections), '-d', `${options.seconds}s`];
  args.push('--latency', url);
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (options.seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${err.message} ${stderr}`));
      try {
        resolve(parseWrkOutput(stdout));
      } catch (parseErr) {
        reject(parseErr instanceof Error ? parseErr : new Error(String(parseErr)));
      }
    });
  });
}
