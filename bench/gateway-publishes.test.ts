import { describe, expect, it } from 'vitest';
import { defaultBounds, stepFigures, stepLimit, type StepFigures } from './gateway-publishes.ts';

const good: StepFigures = {
  publishes: 20,
  routed: 20,
  deliveryRatio: 1,
  worstPublishDeliveryRatio: 0.99,
  latencyP50Ms: 0.4,
  latencyP99Ms: 3,
  gatewayCpuPercentOfCore: 12,
  offeredRatio: 0.998,
  publisherLateP99Ms: 2,
  publisherLagP99Ms: 11,
  sinkLagP99Ms: 11,
  publisherBusy: 0.1,
  sinkBusy: 0.12,
  loadGeneratorCpuPercentOfCore: 15,
  machineBusyPercent: 40,
  othersCpuPercentOfCore: 10,
  loadAverage1m: 0.8,
};
const limit = (change: Partial<StepFigures>) => stepLimit({ ...good, ...change }, defaultBounds);

describe('bench-gateway publishes: which condition ends the steps', () => {
  it('carries a step within every bound', () => {
    expect(limit({})).toBeUndefined();
  });

  it("names the gateway's own limits", () => {
    expect(limit({ routed: 19 })).toBe('notRouted');
    expect(limit({ gatewayCpuPercentOfCore: 91, latencyP99Ms: 500 })).toBe('gatewayCpu');
    expect(limit({ worstPublishDeliveryRatio: 0.5 })).toBe('delivery');
    expect(limit({ latencyP99Ms: 101 })).toBe('latencyP99');
  });

  it('blames the load generator, not the gateway, when it lagged or did not offer the load', () => {
    expect(limit({ sinkLagP99Ms: 80, latencyP99Ms: 150 })).toBe('loadGenerator');
    expect(limit({ publisherLateP99Ms: 60 })).toBe('loadGenerator');
    expect(limit({ offeredRatio: 0.9 })).toBe('loadGenerator');
    // Saturated itself: its own doing, however crowded the machine.
    expect(limit({ sinkLagP99Ms: 80, sinkBusy: 0.95, othersCpuPercentOfCore: 120 })).toBe('loadGenerator');
    // Lagging with cores to spare and not busy: nothing else explains it, so it is not the gateway either.
    expect(limit({ sinkLagP99Ms: 80 })).toBe('loadGenerator');
  });

  it('blames the machine when the neighbours crowded it', () => {
    // The run that found this: 250 publishes, the neighbours at a core, the publishers 97 ms late but not busy.
    expect(limit({ publisherLateP99Ms: 97, machineBusyPercent: 78, othersCpuPercentOfCore: 105 })).toBe('machine');
    expect(limit({ latencyP99Ms: 300, machineBusyPercent: 97 })).toBe('machine');
    expect(limit({ worstPublishDeliveryRatio: 0.5, othersCpuPercentOfCore: 60 })).toBe('machine');
  });
});

describe('bench-gateway publishes: a step from its two snapshots', () => {
  it('differences the counters over the window', () => {
    const at = (seconds: number) => seconds * 1000;
    const a = {
      at: at(0),
      sent: [100, 100],
      received: [100, 98],
      gatewayCpuSeconds: 5,
      ownCpu: { user: 1e6, system: 0 },
      machine: { busy: 10, total: 100 },
    };
    const b = {
      at: at(10),
      sent: [400, 400, 300], // a third publish started in the window
      received: [400, 398, 150],
      gatewayCpuSeconds: 6,
      ownCpu: { user: 2e6, system: 1e6 },
      machine: { busy: 15, total: 120 },
    };
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    const step = stepFigures(a, b, {
      routed: 3,
      latencies,
      publisherLateP99Ms: 1,
      publisherLagP99Ms: 2,
      sinkLagP99Ms: 3,
      publisherBusy: 0.2,
      sinkBusy: 0.3,
    });
    expect(step).toMatchObject({
      publishes: 3,
      routed: 3,
      deliveryRatio: round(750 / 900),
      worstPublishDeliveryRatio: 0.5,
      latencyP99Ms: 100,
      gatewayCpuPercentOfCore: 10,
      offeredRatio: 1,
      loadGeneratorCpuPercentOfCore: 20,
      machineBusyPercent: 25,
      othersCpuPercentOfCore: 20,
    });
  });
});

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
