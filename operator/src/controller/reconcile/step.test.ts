import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import { proceed, requeueAfter, runSteps, stopWith, type ReconcileState, type Step } from './step.ts';

const state = (): ReconcileState => ({
  key: 'tv/show',
  ls: { metadata: { name: 'show', namespace: 'tv' }, spec: {} } as LiveStream,
  nowMs: 0,
  build: { image: 'i', redis: { secretName: 'r', key: 'url' } },
  missing: { relays: {} },
  relayKeys: {},
});

const step = (name: string, run: Step['run'], ran: string[]): Step => ({
  name,
  run: (s) => {
    ran.push(name);
    return run(s);
  },
});

describe('runSteps', () => {
  it('runs every step in order and keeps the earliest requeue', async () => {
    const ran: string[] = [];
    const out = await runSteps(
      [
        step('a', () => Promise.resolve(requeueAfter(900)), ran),
        step('b', () => Promise.resolve(requeueAfter(300)), ran),
        step('c', () => Promise.resolve(proceed), ran),
      ],
      state(),
    );
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(out).toEqual({ requeueAfterMs: 300 });
  });

  it('stops with a condition: later steps do not run, the state carries it', async () => {
    const ran: string[] = [];
    const s = state();
    const out = await runSteps(
      [step('a', () => Promise.resolve(stopWith('422: bad')), ran), step('b', () => Promise.resolve(proceed), ran)],
      s,
    );
    expect(ran).toEqual(['a']);
    expect(out.failed).toBeUndefined();
    expect(s.invalidSpec).toBe('422: bad');
  });

  it('hands a thrown error back with the step that threw', async () => {
    const ran: string[] = [];
    const boom = new Error('boom');
    const failing = step('b', () => Promise.reject(boom), ran);
    const out = await runSteps([step('a', () => Promise.resolve(requeueAfter(5)), ran), failing], state());
    expect(out).toEqual({ requeueAfterMs: 5, failed: { step: failing, error: boom } });
  });

  it('times each step that ran, the one that threw included, by name', async () => {
    const ran: string[] = [];
    const timer = new Histogram({ name: 'steps', help: 'h', labelNames: ['step'], registers: [new Registry()] });
    const out = await runSteps(
      [
        step('slow', () => sleep(30).then(() => proceed), ran),
        step('fails', () => Promise.reject(new Error('no')), ran),
        step('never', () => Promise.resolve(proceed), ran),
      ],
      state(),
      timer,
    );
    expect(out.failed?.step.name).toBe('fails');
    const sums = (await timer.get()).values.filter((v) => v.metricName === 'steps_sum');
    const seconds = (name: string) => sums.find((v) => v.labels.step === name)?.value;
    expect(sums.map((v) => v.labels.step).sort()).toEqual(['fails', 'slow']);
    expect(seconds('slow')).toBeGreaterThanOrEqual(0.025);
    expect(seconds('fails')).toBeLessThan(0.025);
  });
});
