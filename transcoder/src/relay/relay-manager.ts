// The relay set: one supervisor per configured relay, reconciled against every new configuration and every key
// change. A relay is restarted only when something of its own changed (URL, enabled, key, program path); the others
// keep their ffmpeg processes and their connections.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RelayStateData } from '../../../contract/src/reports.ts';
import type { RelayMetrics } from './relay-metrics.ts';
import { RelaySupervisor, type RelayTimings } from './relay-supervisor.ts';
import type { RelayTarget } from './relay-targets.ts';
import { relayKeyFileName } from '../../../contract/src/pod-contract.ts';

export interface RelayManagerOptions {
  keysDir: string; // the pod contract's relayKeysDir: <keysDir>/<relay-name> or <keysDir>/<relay-name>/key
  workDir: string;
  ffmpegPath?: string;
  timings?: Partial<RelayTimings>;
  keyPollMs?: number; // default 1 s
  logger: Logger;
  metrics?: RelayMetrics;
  onChange: (snapshot: RelayStateData) => void;
}

interface Entry {
  supervisor: RelaySupervisor;
  fingerprint: string;
}

export class RelayManager {
  private readonly options: RelayManagerOptions;
  private readonly entries = new Map<string, Entry>();
  private desired: RelayTarget[] = [];
  private inputUrl = '';
  private programLive = false;
  private queue: Promise<void> = Promise.resolve();
  private readonly keyTimer: NodeJS.Timeout;
  private closed = false;

  constructor(options: RelayManagerOptions) {
    this.options = options;
    this.keyTimer = setInterval(() => void this.reconcile(), options.keyPollMs ?? 1_000);
  }

  /** `<keysDir>/<name>` (the operator's Secret, one file per relay) or `<keysDir>/<name>/key` (a directory per relay). */
  keyPath(name: string): string {
    const flat = path.join(this.options.keysDir, name);
    return statSync(flat, { throwIfNoEntry: false })?.isDirectory() ? path.join(flat, relayKeyFileName) : flat;
  }

  // New relay set and/or program URL (from the configuration); resolves once the relays are reconciled.
  apply(targets: RelayTarget[], inputUrl: string): Promise<void> {
    this.desired = targets;
    this.inputUrl = inputUrl;
    return this.reconcile();
  }

  setProgramLive(live: boolean): void {
    this.programLive = live;
    for (const { supervisor } of this.entries.values()) supervisor.setProgramLive(live);
  }

  snapshots(): RelayStateData[] {
    return [...this.entries.values()].map((e) => e.supervisor.snapshot());
  }

  pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.entries].map(([name, e]) => [name, e.supervisor.pid()]));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.keyTimer);
    await this.queue;
    await Promise.all([...this.entries.values()].map((e) => e.supervisor.stop()));
    this.entries.clear();
  }

  // Serialised: a configuration change and a key poll never reconcile at the same time.
  private reconcile(): Promise<void> {
    const next = this.queue.then(() => this.reconcileOnce());
    this.queue = next.catch((err: unknown) => this.options.logger.error({ err }, 'relay reconcile failed'));
    return this.queue;
  }

  private async reconcileOnce(): Promise<void> {
    if (this.closed) return;
    const { logger, metrics } = this.options;
    const wanted = new Map(this.desired.map((t) => [t.name, t]));
    for (const [name, entry] of this.entries) {
      if (wanted.has(name)) continue;
      this.entries.delete(name);
      await entry.supervisor.stop();
      metrics?.forget(name);
      logger.info({ relay: name }, 'relay removed');
    }
    for (const target of this.desired) {
      const fingerprint = await this.fingerprint(target);
      const entry = this.entries.get(target.name);
      if (entry?.fingerprint === fingerprint) continue;
      if (entry) {
        logger.info({ relay: target.name }, 'relay changed: restarting it');
        await entry.supervisor.stop();
      } else {
        logger.info({ relay: target.name, enabled: target.enabled }, 'relay added');
      }
      const supervisor = new RelaySupervisor({
        target,
        keyPath: this.keyPath(target.name),
        inputUrl: this.inputUrl,
        workDir: this.options.workDir,
        ...(this.options.ffmpegPath !== undefined && { ffmpegPath: this.options.ffmpegPath }),
        ...(this.options.timings !== undefined && { timings: this.options.timings }),
        programLive: this.programLive,
        bytesOut: entry?.supervisor.snapshot().bytesOut ?? 0,
        logger,
        onChange: (snapshot) => {
          metrics?.setState(snapshot.name, snapshot.state);
          this.options.onChange(snapshot);
        },
        onBytes: (delta) => metrics?.bytesTotal.inc({ relay: target.name }, delta),
        onRestart: () => metrics?.restartsTotal.inc({ relay: target.name }),
      });
      this.entries.set(target.name, { supervisor, fingerprint });
    }
  }

  // What a running relay depends on. The key enters only as a digest (and only of enabled, keyed relays' files).
  private async fingerprint(target: RelayTarget): Promise<string> {
    let key = target.enabled ? 'keyless' : 'disabled';
    if (target.enabled && target.keyed) {
      key = await readFile(this.keyPath(target.name)).then(
        (content) => createHash('sha256').update(content).digest('hex'),
        (err: NodeJS.ErrnoException) => `unreadable:${err.code ?? 'error'}`,
      );
    }
    return JSON.stringify([target.protocol, target.url, target.enabled, this.inputUrl, key]);
  }
}
