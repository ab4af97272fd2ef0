// A throwaway PostgreSQL (Debian's binaries) on a free loopback port for kube and media tests, that a test can stop
// and start again on the same port and data directory (an outage the store must ride out), or kill outright.
// initdb into a temp dir, password authentication (scram, the password from a 0600 file, never in argv), the Unix
// socket in the same dir. PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user the
// Debian package makes (else `nobody`), with the temp dir handed to it. No fsync: the data dies with the test.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pickFreePort } from './redis-process.ts';

export interface PostgresProcess {
  port: number;
  /** postgres://lso:<password>@127.0.0.1:<port>/postgres: what LSO_HISTORY_DATABASE_URL gets. */
  url: string;
  /** Fast shutdown (SIGINT), as a planned restart of the server does; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL: a crash (the next start recovers from the WAL). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** Where Debian keeps the server binaries (/usr/lib/postgresql/<major>/bin, newest major), or LSO_PG_BINDIR. */
export function postgresBinDir(): string {
  if (process.env.LSO_PG_BINDIR) return process.env.LSO_PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(path.join(root, d, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors[0] === undefined)
    throw new Error(`no PostgreSQL server under ${root}: hack/install-system-packages.sh test installs it`);
  return path.join(root, majors[0], 'bin');
}

/** The uid/gid to run as: ourselves unless root, then the Debian `postgres` user (else nobody). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      // not there: the next one
    }
  }
  throw new Error('running as root and neither the postgres nor the nobody user exists');
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startPostgresProcess(): Promise<PostgresProcess> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = await mkdtemp(path.join(tmpdir(), 'lso-pg-'));
  const data = path.join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const pwfile = path.join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) {
    await chown(dir, user.uid, user.gid);
    await chown(pwfile, user.uid, user.gid);
  }
  const ids = user ? { uid: user.uid, gid: user.gid } : {};
  execFileSync(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', 'lso', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync'],
    { ...ids, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
  );
  await rm(pwfile, { force: true });
  const port = await pickFreePort();
  const url = `postgres://lso:${password}@127.0.0.1:${port}/postgres`;
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '16MB',
    max_connections: '40',
  };
  const args = ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  let child: ChildProcess | undefined;
  let stderr = '';

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn(path.join(bin, 'postgres'), args, { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (!child) throw new Error(`postgres exited at start (port ${port}): ${stderr}`);
      if (await accepts(url)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`postgres did not accept connections on port ${port} within 20 s: ${stderr}`);
  }

  async function signal(sig: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc) return;
    child = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill(sig);
    });
    if (sig === 'SIGKILL') {
      // The postmaster's children outlive it for a moment; a new postmaster waits for the old shared memory.
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  await start();
  return {
    port,
    url,
    stop: () => signal('SIGINT'),
    kill: () => signal('SIGKILL'),
    start,
    destroy: async () => {
      await signal('SIGINT');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
