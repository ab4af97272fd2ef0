// The stats API as the operator process serves it: its own port (the Service's `stats` port), a small read pool of
// its own (so a slow report never waits behind a slow write, or the other way round), the Kubernetes authorizer.
// Every replica serves it, leader or not: it only reads.
import { createServer, type Server } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import pg from 'pg';
import { kubeStatsAuthorizer } from './kube-authorizer.ts';
import { createStatsHandler } from './stats-handler.ts';

export const statsPortEnv = 'LSO_STATS_PORT';
export const defaultStatsPort = 8081;

/** The stats port from the environment (default 8081); throws a message naming the variable. */
export function statsPortOf(env: NodeJS.ProcessEnv): number {
  const raw = env[statsPortEnv]?.trim();
  if (raw === undefined || raw === '') return defaultStatsPort;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`${statsPortEnv} must be a port (1..65535)`);
  return port;
}

export interface StatsService {
  server: Server;
  close(): Promise<void>;
}

export function startStatsService(opts: {
  port: number;
  databaseUrl: string;
  kc: KubeConfig;
  logger: Logger;
}): StatsService {
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: 4,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    application_name: 'livestream-operator-stats',
  });
  // An idle client's error (the server restarted) must not crash the process: the next read reconnects.
  pool.on('error', () => {});
  const logger = opts.logger.child({ component: 'stats-api' });
  const authorizer = kubeStatsAuthorizer({ kc: opts.kc, logger: opts.logger.child({ component: 'stats-authorizer' }) });
  const server = createServer(createStatsHandler({ pool, authorizer, logger }));
  server.listen(opts.port, () => logger.info({ port: opts.port }, 'stats API listening'));
  return {
    server,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end().catch(() => {});
    },
  };
}
