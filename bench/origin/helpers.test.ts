import { describe, expect, it } from 'vitest';
import { nginxConfig } from './nginx.ts';
import { percentile, segmentUris } from './viewer-sim.ts';
import { parseWrkOutput } from './wrk.ts';

const wrkOutput = `Running 5s test @ http://127.0.0.1:8080/hls/720p/index.m3u8
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  512.10us  12.01ms   90.00%
    Req/Sec    33.10k     1.20k   35.00k    80.00%
  Latency Distribution
     50%    1.40ms
     75%    1.60ms
     90%    1.90ms
     99%  850.00us
  164812 requests in 5.00s, 98.21MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  32962.40
Transfer/sec:     19.64MB
`;

describe('bench helpers', () => {
  it('parses wrk reports', () => {
    expect(parseWrkOutput(wrkOutput)).toEqual({
      requestsPerSecond: 32962.4,
      latencyP99Ms: 0.85,
      non2xx: 7,
      socketErrors: 3,
    });
    expect(() => parseWrkOutput('garbage')).toThrow(/Requests\/sec/);
  });

  it('lists the segment URIs of a playlist', () => {
    const playlist = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg-1.ts\n#EXTINF:2.0,\r\nseg-2.ts\r\n\n';
    expect(segmentUris(playlist)).toEqual(['seg-1.ts', 'seg-2.ts']);
  });

  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([], 99)).toBeNaN();
  });

  it('generates an nginx config serving /hls/ from the parent of an hls directory', () => {
    const conf = nginxConfig({ port: 8081, hlsDir: '/tmp/x/hls', workDir: '/tmp/x/nginx', workers: 1 });
    expect(conf).toContain('root /tmp/x;');
    expect(conf).toContain('listen 127.0.0.1:8081;');
    expect(conf).toContain('daemon off;');
    expect(() => nginxConfig({ port: 1, hlsDir: '/tmp/x/media', workDir: '/tmp/w', workers: 1 })).toThrow(/named hls/);
  });
});
