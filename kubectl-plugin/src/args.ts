// Command-line parsing for `kubectl livestream`: flags as kubectl spells them (`--flag value`, `--flag=value`, `-n ns`,
// repeatable flags, `--` ends flags). Pure; a mistake throws a UsageError naming the flag.

export class UsageError extends Error {}

export interface FlagSpec {
  /** long name, without the dashes */
  name: string;
  short?: string;
  /** takes a value (else a boolean switch) */
  value?: string;
  repeatable?: boolean;
  help: string;
}

export interface Parsed {
  positionals: string[];
  values: Map<string, string[]>;
  switches: Set<string>;
}

function lookup(specs: readonly FlagSpec[], token: string): FlagSpec {
  const long = token.startsWith('--');
  const key = token.slice(long ? 2 : 1);
  const spec = specs.find((s) => (long ? s.name === key : s.short === key));
  if (spec === undefined) throw new UsageError(`unknown flag: ${token}`);
  return spec;
}

/** Splits argv by the specs; a value flag given twice without `repeatable` is an error, like a missing value. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): Parsed {
  const out: Parsed = { positionals: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const spec = lookup(specs, flag);
    if (spec.value === undefined) {
      if (eq !== -1) throw new UsageError(`flag --${spec.name} takes no value`);
      out.switches.add(spec.name);
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`flag --${spec.name} needs a value (${spec.value})`);
    const seen = out.values.get(spec.name) ?? [];
    if (seen.length > 0 && !spec.repeatable) throw new UsageError(`flag --${spec.name} given twice`);
    out.values.set(spec.name, [...seen, value]);
  }
  return out;
}

export const one = (p: Parsed, name: string): string | undefined => p.values.get(name)?.[0];
export const all = (p: Parsed, name: string): string[] => p.values.get(name) ?? [];

/** The one NAME argument of a command, or a UsageError. */
export function nameArg(p: Parsed, command: string): string {
  if (p.positionals.length !== 1) {
    throw new UsageError(`${command} takes one LiveStream NAME (got ${p.positionals.length} arguments)`);
  }
  return p.positionals[0]!;
}

/** A positive whole number, e.g. --limit. */
export function positiveInt(text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`--${flag} must be a whole number from 1 to ${max}`);
  }
  return Number(text);
}

/** An RFC 3339 time with a zone (what the stats API takes), e.g. --from; returned normalized to UTC. */
export function rfc3339(text: string, flag: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i.test(text);
  const ms = Date.parse(text);
  if (!ok || Number.isNaN(ms)) throw new UsageError(`--${flag} must be an RFC 3339 time (2026-12-01T00:00:00Z)`);
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** "1h", "10m", "1h30m", "90s" in seconds (the CRD's duration form). */
export function durationSeconds(text: string, flag: string): number {
  const m = /^(?:(\d{1,5})h)?(?:(\d{1,5})m)?(?:(\d{1,5})s)?$/.exec(text);
  if (!m || text === '') throw new UsageError(`--${flag} must be a duration of h, m and s (1h, 10m, 1h30m, 90s)`);
  const [, h = '0', min = '0', s = '0'] = m;
  return (Number(h) * 60 + Number(min)) * 60 + Number(s);
}

/** The help of a command: usage, what it does, its flags and the global ones, aligned. */
export function helpText(usage: string, about: string, specs: readonly FlagSpec[]): string {
  const left = (s: FlagSpec) => `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.value ? ` ${s.value}` : ''}`;
  const width = Math.max(...specs.map((s) => left(s).length));
  const lines = specs.map((s) => `  ${left(s).padEnd(width)}  ${s.help}`);
  return `${about}\n\nUsage:\n  ${usage}\n\nFlags:\n${lines.join('\n')}\n`;
}
