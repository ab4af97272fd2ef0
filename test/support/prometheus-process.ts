// A real Prometheus server (built from the same pinned module as promtool, hack/tools/build.sh promtool) on
// loopback, with a generated config and a TSDB under a temp dir, and the HTTP API calls the tests make.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tool } from '../../charts/tests/chart-tools.ts';
import type { RuleGroups, ScrapeConfig } from './prometheus-scrape-config.ts';
import { waitFor } from './wait-for.ts';

export interface PrometheusOptions {
  scrapeConfigs: ScrapeConfig[];
  rules: RuleGroups;
  /** scrape_interval and evaluation_interval. */
  interval?: string;
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface Alert {
  labels: Record<string, string>;
  state: 'inactive' | 'pending' | 'firing';
  value: string;
}
export interface Target {
  labels: Record<string, string>;
  scrapePool: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PrometheusProcess {
  url: string;
  query(expr: string): Promise<Sample[]>;
  alerts(): Promise<Alert[]>;
  targets(): Promise<Target[]>;
  stop(): Promise<void>;
}

/** The path of the prometheus binary: built beside promtool, so the same tool() resolves it. */
export const prometheusBinary = (): Promise<string> => tool('promtool', 'prometheus');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`prometheus ${url}: ${res.status} ${body.error ?? ''}`);
  return body.data;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusProcess> {
  const bin = await prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'lso-prometheus-'));
  const interval = opts.interval ?? '2s';
  await writeFile(join(dir, 'rules.yaml'), stringify(opts.rules));
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [join(dir, 'rules.yaml')],
    scrape_configs: opts.scrapeConfigs,
  };
  await writeFile(join(dir, 'prometheus.yaml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yaml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (b: Buffer) => log.push(b.toString()) > 200 && log.shift());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true, {
      timeoutMs: 30_000,
      intervalMs: 250,
      abort: () => (child.exitCode === null ? undefined : `prometheus exited ${child.exitCode}: ${log.join('')}`),
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    query: async (expr) =>
      (await api<{ result: Sample[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: Alert[] }>(`${url}/api/v1/alerts`)).alerts,
    targets: async () => (await api<{ activeTargets: Target[] }>(`${url}/api/v1/targets?state=active`)).activeTargets,
    stop,
  };
}
