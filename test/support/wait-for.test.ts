import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

describe('waitFor', () => {
  it('returns the first value that is not undefined, false or null', async () => {
    let n = 0;
    await expect(waitFor('n to reach 3', () => (++n >= 3 ? n : false), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('times out naming what it waited for and the last error', async () => {
    const failing = () => {
      throw new Error('connection refused');
    };
    await expect(waitFor('the port', failing, { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
      /timed out after 20 ms waiting for the port \(last error: connection refused\)/,
    );
  });

  it('stops at once when abort says why', async () => {
    let probes = 0;
    const wait = waitFor('containerd', () => void probes++, { abort: () => (probes >= 2 ? 'it exited' : undefined) });
    await expect(wait).rejects.toThrow('stopped waiting for containerd: it exited');
    expect(probes).toBe(2);
  });
});
