// The relay container's Prometheus metrics (prefix livestream_relay_). Relay names are chosen by the user in the
// spec and are not secret: they are the only label besides the state. Targets and keys never become labels.
import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import type { RelayState } from '../../../contract/src/api/index.ts';
import { relayStates } from '../../../contract/src/reports.ts';

export interface RelayMetrics {
  registry: Registry;
  state: Gauge<'relay' | 'state'>;
  bytesTotal: Counter<'relay'>;
  restartsTotal: Counter<'relay'>;
  setState(relay: string, state: RelayState): void;
  forget(relay: string): void;
}

export function createRelayMetrics(registry: Registry, options: { defaultMetrics?: boolean } = {}): RelayMetrics {
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const state = new Gauge({
    name: 'livestream_relay_state',
    help: 'Current state of each relay: 1 for its state (Connecting, Active, Retrying, Disabled), 0 for the others.',
    labelNames: ['relay', 'state'],
    registers,
  });
  const bytesTotal = new Counter({
    name: 'livestream_relay_bytes_total',
    help: 'Bytes sent to each relay target.',
    labelNames: ['relay'],
    registers,
  });
  const restartsTotal = new Counter({
    name: 'livestream_relay_restarts_total',
    help: 'Times a relay was restarted after its target failed.',
    labelNames: ['relay'],
    registers,
  });
  return {
    registry,
    state,
    bytesTotal,
    restartsTotal,
    setState(relay, current) {
      for (const s of relayStates) state.set({ relay, state: s }, s === current ? 1 : 0);
      // Counters appear at 0 as soon as a relay exists, so rate() works from its first scrape.
      bytesTotal.inc({ relay }, 0);
      restartsTotal.inc({ relay }, 0);
    },
    forget(relay) {
      for (const s of relayStates) state.remove({ relay, state: s });
      bytesTotal.remove({ relay });
      restartsTotal.remove({ relay });
    },
  };
}
