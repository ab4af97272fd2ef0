// A real redis-server on a free loopback port for media and kube tests, that a test can stop and start again on the
// same port (to simulate an outage: like the chart's Redis, it then has lost every ACL user the operator made).
// Protected like the chart's: the default user has a random password (given on stdin, never in argv), and `url`
// carries it: that is the operator's admin URL. No persistence; killed on stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { channelAclRules, channelRedisUrl, channelUser, type Channel } from '../../contract/src/report-streams.ts';

export interface RedisProcess {
  port: number;
  /** The admin URL (the default user with its password), what LSO_REDIS_URL gets. */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function pickFreePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether something answers on the port as Redis does (+PONG, or -NOAUTH with a password set). */
async function pingOnce(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

export async function startRedisProcess(): Promise<RedisProcess> {
  const port = await pickFreePort();
  const password = randomBytes(18).toString('base64url');
  const config = [
    `port ${port}`,
    'bind 127.0.0.1',
    'save ""',
    'appendonly no',
    'loglevel warning',
    `requirepass ${password}`,
  ].join('\n');
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    proc.stdin?.end(`${config}\n`);
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!child) throw new Error(`redis-server exited at start (port ${port})`);
      if (await pingOnce(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    child = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  }

  await start();
  return { port, url: `redis://:${password}@127.0.0.1:${port}`, stop, start };
}

/**
 * Makes a channel's ACL user over an admin connection, with the contract's rules as the operator applies them
 * (operator/src/controller/redis-acl.ts), and returns the channel's URL: for media tests without an operator.
 */
export async function applyChannelUser(admin: Redis, adminUrl: string, channel: Channel, password: string) {
  await admin.call('ACL', 'SETUSER', channelUser(channel), ...channelAclRules(channel, password));
  return channelRedisUrl(adminUrl, channel, password);
}
