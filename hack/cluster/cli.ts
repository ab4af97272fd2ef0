// `node hack/cluster/cli.ts up [--node]|down|status`: the entry point behind `make cluster-up`, `make node-up` and
// `make cluster-down`.
import { defaultClusterDir, down, isRunning, readState, up } from './local-cluster.ts';

const log = (line: string) => process.stderr.write(`cluster: ${line}\n`);

async function main(command: string | undefined, flags: string[]): Promise<number> {
  switch (command) {
    case 'up': {
      const state = await up({ log, node: flags.includes('--node') });
      process.stdout.write(`${state.kubeconfig}\n`);
      log(`export KUBECONFIG=${state.kubeconfig}   (kubectl: ${state.kubectl})`);
      return 0;
    }
    case 'down':
      await down();
      log('stopped; every port is free');
      return 0;
    case 'status': {
      const state = await readState();
      const running = state !== undefined && isRunning(state);
      log(running ? `running at ${state.server}` : `not running (${defaultClusterDir})`);
      return running ? 0 : 1;
    }
    default:
      process.stderr.write('usage: cli.ts up [--node]|down|status\n');
      return 2;
  }
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
