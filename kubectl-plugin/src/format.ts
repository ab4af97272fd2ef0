// Output as kubectl prints it: a table with upper-case headers and columns separated by three spaces (no borders,
// the last column unpadded), or the object as JSON or YAML. Pure.
import { stringify } from 'yaml';
import { UsageError } from './args.ts';

export const outputFormats = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof outputFormats)[number];

export function outputFormat(text: string | undefined): OutputFormat {
  if (text === undefined || text === 'wide') return 'table';
  if ((outputFormats as readonly string[]).includes(text)) return text as OutputFormat;
  throw new UsageError(`--output must be json or yaml (got ${JSON.stringify(text)})`);
}

/** Rows under headers, each column as wide as its widest cell, like `kubectl get`. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [headers, ...rows].map(line).join('\n') + '\n';
}

/** The object in the format asked for; undefined for `table` (the command prints its own). */
export function serialized(value: unknown, format: OutputFormat): string | undefined {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  if (format === 'yaml') return stringify(value);
  return undefined;
}

/** Seconds as h:mm:ss (hours unbounded), what LIVE and DURATION show. */
export function hms(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes in binary units with one decimal above KiB (1.5GiB), as kubectl prints quantities: no space. */
export function bytes(n: number): string {
  let value = Math.max(0, n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)}B` : `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[unit]}`;
}

/** A count with no needless decimals: 12, 12.5, 0.33. */
export function figure(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

/** An RFC 3339 time as kubectl-ish short UTC (2026-12-01T10:00:00Z), or <none>. */
export function time(text: string | null | undefined): string {
  if (!text) return '<none>';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const orNone = (v: string | number | null | undefined): string =>
  v === undefined || v === null || v === '' ? '<none>' : String(v);
