// Helpers for the chart's tests: the pinned helm and promtool (built once by hack/tools/build.sh, cached), rendering
// the chart with values, and reading the rules and dashboards the chart ships.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export const repo = join(import.meta.dirname, '..', '..');
export const chartDir = join(repo, 'charts', 'livestream-operator');
export const rulesPath = join(chartDir, 'files', 'rules', 'livestream-alerts.yaml');
export const dashboardsDir = join(chartDir, 'files', 'dashboards');
export const runbooksDir = join(repo, 'docs', 'runbooks');

/** Time to allow a hook that may build a tool from source on a cold cache. */
export const toolBuildTimeoutMs = 1_200_000;

const bins = new Map<string, Promise<string>>();

/** Path of a pinned tool (helm, promtool, kubernetes' kubectl...) built by hack/tools/build.sh. */
export function tool(name: 'helm' | 'promtool', binary: string = name): Promise<string> {
  let dir = bins.get(name);
  if (!dir) {
    dir = run(join(repo, 'hack', 'tools', 'build.sh'), [name], { maxBuffer: 1 << 20 }).then((r) => r.stdout.trim());
    bins.set(name, dir);
  }
  return dir.then((d) => join(d, binary));
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws for a non-zero exit (tests look at the code and the output). */
export async function exec(bin: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  try {
    const r = await run(bin, args, { maxBuffer: 64 << 20, env: env ?? process.env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as Error & { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'lso-chart-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** `helm template` with the given values (as a values file); rejects with helm's message on failure. */
export async function renderChart(
  values: object = {},
  opts: { release?: string; namespace?: string; chart?: string; extraArgs?: string[] } = {},
): Promise<K8sObject[]> {
  const text = await renderChartText(values, opts);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export async function renderChartText(
  values: object = {},
  opts: { release?: string; namespace?: string; chart?: string; extraArgs?: string[] } = {},
): Promise<string> {
  const helm = await tool('helm');
  return withTempDir(async (dir) => {
    const file = join(dir, 'values.yaml');
    await writeFile(file, JSON.stringify(values));
    const r = await exec(helm, [
      'template',
      opts.release ?? 'lso',
      opts.chart ?? chartDir,
      '--namespace',
      opts.namespace ?? 'lso-system',
      '-f',
      file,
      ...(opts.extraArgs ?? []),
    ]);
    if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
    return r.stdout;
  });
}

/** Every monitoring switch on. */
export const allMonitoring = {
  monitoring: {
    operator: { serviceMonitor: { enabled: true } },
    transcoders: { podMonitor: { enabled: true } },
    gateway: { podMonitor: { enabled: true } }, // rendered only with gateway.enabled (the default)
    prometheusRule: { enabled: true },
    dashboards: { enabled: true },
  },
};

/** Every switch on: monitoring, the gateway and its autoscaler. */
export const everySwitch = { ...allMonitoring, gateway: { enabled: true, autoscaling: { enabled: true } } };

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export async function readAlertRules(): Promise<AlertRule[]> {
  const doc = parse(await readFile(rulesPath, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

interface Panel {
  id?: number;
  title?: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query?: unknown; definition?: string }[] };
}

export async function readDashboards(): Promise<Map<string, Dashboard>> {
  const out = new Map<string, Dashboard>();
  for (const f of (await readdir(dashboardsDir)).filter((n) => n.endsWith('.json')).sort()) {
    out.set(f, JSON.parse(await readFile(join(dashboardsDir, f), 'utf8')) as Dashboard);
  }
  return out;
}

/** Every PromQL query of the dashboards: panel targets and query variables. */
export function dashboardQueries(dashboards: Map<string, Dashboard>): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const [file, d] of dashboards) {
    const walk = (panels: Panel[]) => {
      for (const p of panels) {
        for (const t of p.targets ?? []) if (t.expr) out.push({ dashboard: file, panel: p.title ?? '', expr: t.expr });
        walk(p.panels ?? []);
      }
    };
    walk(d.panels);
    for (const v of d.templating.list) {
      if (v.definition) out.push({ dashboard: file, panel: `variable ${v.name}`, expr: v.definition });
    }
  }
  return out;
}

/** Grafana's `label_values(<selector>, <label>)` is not PromQL: the part PromQL can check is its selector. */
export function toPromQL(expr: string): string {
  const lv = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(expr.trim());
  const promql = lv?.[1] ?? expr;
  // Grafana's variables, replaced by values of the right kind.
  return promql
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$([a-zA-Z_]+)/g, 'sample-$1');
}

const promqlKeywords = new Set(
  'sum avg min max count by without on ignoring group_left group_right and or unless offset bool rate irate increase deriv delta idelta absent absent_over_time avg_over_time max_over_time min_over_time sum_over_time count_over_time histogram_quantile vector scalar time topk bottomk quantile label_replace label_join clamp_min clamp_max abs round ceil floor le inf nan'.split(
    ' ',
  ),
);

/**
 * Metric names a PromQL expression reads: identifiers followed by `{`, `[`, whitespace or an operator that are not
 * functions, keywords, label names inside braces or `by (...)` lists. Good enough for our own queries (checked by a
 * test against known expressions), not a general parser.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '{}') // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\[[^\]]*\]/g, '[]'); // ranges
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![a-zA-Z0-9_:.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const next = stripped.slice((m.index ?? 0) + word.length).trimStart()[0];
    if (promqlKeywords.has(word) || next === '(') continue;
    if (/^\d/.test(word)) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** A histogram or summary is exported under its base name; queries read its _bucket/_sum/_count series. */
export function baseMetricName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}
