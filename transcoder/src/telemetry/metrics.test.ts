import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTranscoderMetrics } from './metrics.ts';

describe('createTranscoderMetrics', () => {
  it('registers exactly the contract names, without per-stream labels', async () => {
    const registry = new Registry();
    createTranscoderMetrics(registry, { defaultMetrics: false });
    const metrics = await registry.getMetricsAsJSON();
    const byName = new Map(metrics.map((m) => [m.name.replace('livestream_transcoder_', ''), m]));
    expect([...byName.keys()].sort()).toEqual(
      [
        'publishing',
        'ingest_bitrate_kbps',
        'ingest_fps',
        'ingest_width_pixels',
        'ingest_height_pixels',
        'segments_total',
        'ffmpeg_restarts_total',
        'publish_refused_total',
        'sessions_total',
        'viewers',
        'http_requests_total',
        'reports_buffered',
        'reports_dropped_total',
      ].sort(),
    );
    expect(metrics.every((m) => m.name.startsWith('livestream_transcoder_'))).toBe(true);
  });

  it('adds the default process metrics to the same registry', async () => {
    const registry = new Registry();
    createTranscoderMetrics(registry);
    expect(await registry.metrics()).toMatch(/^process_cpu_seconds_total /m);
  });
});
