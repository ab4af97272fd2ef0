// One transcoder HTTP origin in a process of its own (origin-process.ts), for the benchmarks: the load generator
// never shares its event loop, and its CPU is its own (bench-origin, bench-gateway).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface OriginChild {
  port: number;
  proc: ChildProcess;
  /** The text of its /metrics. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startOriginProcess(hlsDir: string): Promise<OriginChild> {
  const proc = spawn(process.execPath, [join(import.meta.dirname, 'origin-process.ts'), hlsDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('origin process did not start within 10 s')), 10_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
    proc.once('exit', (code) => reject(new Error(`origin process exited with ${code}`)));
  });
  return {
    port,
    proc,
    metrics: () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()),
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
