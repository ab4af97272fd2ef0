// WHIP networking with werift on both ends: the answer's candidates come from the configured UDP range and include
// the announced address; an ICE restart by PATCH (RFC 9725 section 4.4) gets a fragment with new credentials, and
// the client's connection comes back on them. No media: the bridge's ffmpeg waits for RTP that never comes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RTCPeerConnection, useH264, useOPUS } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { createWhipIngest, type WhipIngest } from './whip-ingest.ts';
import { answerFragment, iceCredentials } from './whip-sdp.ts';

const route = { namespace: 'ns', name: 'ch', app: 'live', rtmp: '127.0.0.1:9', http: '127.0.0.1:9' };
const codecs = { video: [useH264()], audio: [useOPUS()] };

describe('WHIP ICE: port range, announced address, restart', () => {
  let whip: WhipIngest;
  let server: http.Server;
  let base: string;
  const clients: RTCPeerConnection[] = [];

  beforeAll(async () => {
    whip = createWhipIngest({
      lookup: (key) => (key === 'the-key' ? route : undefined),
      logger: createLogger('whip-ice-test', 'warn'),
      maxSessions: 2,
      network: { udpPorts: [41000, 41009], announceAddresses: ['198.51.100.9'], iceServers: [] },
    });
    server = http.createServer((req, res) => void whip.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await whip?.close();
    await new Promise((r) => server?.close(r));
  });

  it('answers from the range with the announced address, and restarts ICE on a PATCH with new credentials', async () => {
    const client = new RTCPeerConnection({ codecs, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'] });
    clients.push(client);
    client.addTransceiver('video', { direction: 'sendonly' });
    client.addTransceiver('audio', { direction: 'sendonly' });
    await client.setLocalDescription(await client.createOffer());
    const post = await fetch(`${base}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer the-key' },
      body: client.localDescription?.sdp,
    });
    expect(post.status).toBe(201);
    const answer = await post.text();
    const candidates = answer.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    expect(candidates.some((c) => c.includes(' 198.51.100.9 '))).toBe(true);
    for (const c of candidates) expect(Number(c.split(' ')[5])).toBeGreaterThanOrEqual(41000);
    for (const c of candidates) expect(Number(c.split(' ')[5])).toBeLessThanOrEqual(41009);
    await client.setRemoteDescription({ type: 'answer', sdp: answer });
    await waitFor('the client connected', () => client.connectionState === 'connected', { timeoutMs: 15_000 });
    const location = `${base}${post.headers.get('location') ?? ''}`;
    const etag = post.headers.get('etag') ?? '';

    // Trickle on the same credentials stays 204; a stale ETag is 412.
    const trickle = (ifMatch: string) =>
      fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': ifMatch },
        body: 'a=mid:0\r\na=candidate:9 1 udp 2122260223 127.0.0.1 9 typ host\r\n',
      });
    expect((await trickle(etag)).status).toBe(204);
    expect((await trickle('"stale"')).status).toBe(412);

    const before = iceCredentials(answer);
    client.restartIce();
    await client.setLocalDescription(await client.createOffer());
    const offer = client.localDescription?.sdp ?? '';
    expect(iceCredentials(offer)).not.toEqual(iceCredentials(client.remoteDescription?.sdp ?? ''));
    const restart = (ifMatch?: string) =>
      fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...(ifMatch && { 'if-match': ifMatch }) },
        body: answerFragment(offer),
      });
    expect((await restart()).status).toBe(428); // RFC 9725: a restart names If-Match: *
    const restarted = await restart('*');
    expect(restarted.status).toBe(200);
    expect(restarted.headers.get('etag')).not.toBe(etag);
    const fragment = await restarted.text();
    const after = iceCredentials(fragment);
    expect(after).toBeDefined();
    expect(after).not.toEqual(before);
    // The client's new answer: the first one with the new credentials and candidates.
    const newAnswer = answer
      .split(/\r?\n/)
      .filter((l) => !l.startsWith('a=candidate:'))
      .map((l) => (l.startsWith('a=ice-ufrag:') ? `a=ice-ufrag:${after?.ufrag}` : l))
      .map((l) => (l.startsWith('a=ice-pwd:') ? `a=ice-pwd:${after?.pwd}` : l))
      .flatMap((l) =>
        l.startsWith('a=mid:') ? [l, ...fragment.split(/\r?\n/).filter((f) => f.startsWith('a=candidate:'))] : [l],
      )
      .join('\r\n');
    const [ice] = client.iceTransports;
    const restarts = ice?.iceRestarts ?? 0;
    await client.setRemoteDescription({ type: 'answer', sdp: newAnswer });
    await waitFor(
      'the client connected on the new credentials',
      () => ['connected', 'completed'].includes(client.iceConnectionState) && client.connectionState === 'connected',
      { timeoutMs: 15_000 },
    );
    // Connected again: the restart's new pair, on the new server credentials (generation 1 candidates).
    expect(fragment).toMatch(/generation 1/);
    // The client's ICE started over and is connected again, on a pair checked with the server's new credentials.
    expect(ice?.iceRestarts).toBe(restarts);
    expect(restarts).toBeGreaterThan(0);
    expect(ice?.getRemoteParameters()?.usernameFragment).toBe(after?.ufrag);
    expect(ice?.state).toMatch(/connected|completed/);
    expect(whip.sessions).toBe(1);
  });
});
