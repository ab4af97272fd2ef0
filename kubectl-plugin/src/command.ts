// What every subcommand gets and gives: its flags and help, and a run over the parsed arguments that writes to out.
import type { FlagSpec, Parsed } from './args.ts';
import type { Cluster } from './kube.ts';
import type { OutputFormat } from './format.ts';

export interface Context {
  args: Parsed;
  output: OutputFormat;
  /** The cluster, loaded on first use (so --help and argument mistakes need no kubeconfig). */
  cluster: () => Cluster;
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  /** Progress notes for humans (stderr), never data. */
  note: (text: string) => void;
}

export interface Command {
  name: string;
  usage: string;
  /** one line for the command list */
  summary: string;
  about: string;
  flags: FlagSpec[];
  run(ctx: Context): Promise<void>;
}

/** Flags every command takes, as kubectl spells them. */
export const globalFlags: FlagSpec[] = [
  { name: 'namespace', short: 'n', value: 'NS', help: "namespace (default: the context's, else default)" },
  { name: 'kubeconfig', value: 'FILE', help: 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)' },
  { name: 'context', value: 'NAME', help: 'kubeconfig context (default: the current one)' },
  { name: 'output', short: 'o', value: 'FORMAT', help: 'json or yaml (default: a table)' },
  { name: 'help', short: 'h', help: 'this help' },
];

/** Flags of the commands that ask the operator's stats API. */
export const statsApiFlags: FlagSpec[] = [
  { name: 'stats-url', value: 'URL', help: 'the stats API (default: $KUBECTL_LIVESTREAM_STATS_URL)' },
  { name: 'token', value: 'TOKEN', help: "bearer token for the stats API (default: the kubeconfig user's)" },
  { name: 'token-file', value: 'FILE', help: 'read that token from a file (keeps it out of the process list)' },
];
