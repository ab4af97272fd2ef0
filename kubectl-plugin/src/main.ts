// kubectl-livestream: the `kubectl livestream` plugin (docs/kubectl-plugin.md). kubectl runs it with the words after
// `livestream`; it prints tables like kubectl's, or -o json|yaml, and any failure as one line on stderr, exit 1.
import { UsageError, helpText, one, parseArgs } from './args.ts';
import { globalFlags, type Command, type Context } from './command.ts';
import { keyCommand } from './commands/key.ts';
import { sessionsCommand } from './commands/sessions.ts';
import { statsCommand } from './commands/stats.ts';
import { tokenCommand } from './commands/token.ts';
import { urlCommand } from './commands/url.ts';
import { outputFormat } from './format.ts';
import { CommandError, loadCluster, type Cluster } from './kube.ts';

export const commands: Command[] = [statsCommand, sessionsCommand, urlCommand, keyCommand, tokenCommand];

export function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return (
    'kubectl livestream: LiveStream channels from the command line.\n\nCommands:\n' +
    `${lines.join('\n')}\n\nRun 'kubectl livestream COMMAND --help' for a command's flags.\n` +
    helpText('kubectl livestream COMMAND [flags]', '', globalFlags).replace(/^\n\n/, '\n')
  );
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Runs one invocation; resolves with the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  try {
    const [word, ...rest] = argv;
    if (word === undefined || word === '-h' || word === '--help' || word === 'help') {
      io.out(overview());
      return word === undefined ? 1 : 0;
    }
    const command = commands.find((c) => c.name === word);
    if (command === undefined)
      throw new UsageError(`unknown command "${word}" (one of ${commands.map((c) => c.name).join(', ')})`);
    const args = parseArgs(rest, command.flags);
    if (args.switches.has('help')) {
      io.out(helpText(command.usage, command.about, command.flags));
      return 0;
    }
    let cluster: Cluster | undefined;
    const ctx: Context = {
      args,
      output: outputFormat(one(args, 'output')),
      cluster: () =>
        (cluster ??= loadCluster({
          kubeconfig: one(args, 'kubeconfig'),
          context: one(args, 'context'),
          namespace: one(args, 'namespace'),
        })),
      env: io.env,
      out: io.out,
      note: (t) => io.err(`${t}\n`),
    };
    await command.run(ctx);
    return 0;
  } catch (err) {
    const known = err instanceof UsageError || err instanceof CommandError;
    const message = err instanceof Error ? err.message : String(err);
    io.err(`error: ${(known ? message : `unexpected: ${message}`).replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}

if (import.meta.main) {
  const code = await run(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
  });
  process.exitCode = code;
}
