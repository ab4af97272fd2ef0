// Detached daemons with log files and a record of their pids, so another command can stop them later.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonRecord {
  name: string;
  pid: number;
  binary: string;
  args: string[];
  log: string;
}

/** Starts a process in its own process group, detached from ours, with stdout and stderr in `log`. */
export function startDaemon(name: string, binary: string, args: string[], log: string): DaemonRecord {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${binary}`);
    child.unref();
    return { name, pid: child.pid, binary, args, log };
  } finally {
    closeSync(fd);
  }
}

/** True when `pid` is alive and still runs `binary` (a recycled pid is not ours). */
export function isOurs(record: DaemonRecord): boolean {
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
    return cmdline.split('\0')[0] === record.binary;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group the daemon leads.
    process.kill(-pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopDaemon(record: DaemonRecord, graceMs = 10_000): Promise<void> {
  if (!isOurs(record)) return;
  signal(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isOurs(record) && !isZombie(record.pid)) {
    if (Date.now() > deadline) {
      signal(record.pid, 'SIGKILL');
      break;
    }
    await sleep(100);
  }
  while (isOurs(record) && !isZombie(record.pid)) await sleep(50);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Asks the kernel for `count` distinct free TCP ports on `host`. */
export async function freePorts(host: string, count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, host, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** True when something accepts TCP connections on host:port. */
export function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    // An address that is gone (a node IP removed at teardown) has nothing listening on it either.
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRNOTAVAIL'));
    s.listen(port, host, () => s.close(() => resolve(false)));
  });
}
