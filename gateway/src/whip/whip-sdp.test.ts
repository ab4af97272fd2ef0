import { describe, expect, it } from 'vitest';
import {
  answerFragment,
  bearerKey,
  ffmpegSdp,
  fragmentCandidates,
  iceCredentials,
  offeredMedia,
  offerProblem,
  restartedOffer,
  whipTarget,
} from './whip-sdp.ts';

const offer = (video: string[], audio: string[]) =>
  [
    'v=0',
    `m=video 9 UDP/TLS/RTP/SAVPF ${video.map((_, i) => 96 + i).join(' ')}`,
    ...video.map((c, i) => `a=rtpmap:${96 + i} ${c}/90000`),
    `m=audio 9 UDP/TLS/RTP/SAVPF ${audio.map((_, i) => 111 + i).join(' ')}`,
    ...audio.map((c, i) => `a=rtpmap:${111 + i} ${c}/48000/2`),
    '',
  ].join('\r\n');

describe('whipTarget', () => {
  it('tells endpoints from session URLs and ignores everything else', () => {
    expect(whipTarget('/whip')).toEqual({ kind: 'endpoint' });
    expect(whipTarget('/tenant/ch-1/whip')).toEqual({ kind: 'endpoint', namespace: 'tenant', name: 'ch-1' });
    expect(whipTarget('/whip/sessions/abcdefghijklmnopqrstuv')).toEqual({
      kind: 'session',
      id: 'abcdefghijklmnopqrstuv',
    });
    for (const p of [
      '/',
      '/whip/',
      '/tenant/whip',
      '/Tenant/ch/whip',
      '/a/b/c/whip',
      '/whip/sessions/short',
      '/t/ch/master.m3u8',
    ]) {
      expect(whipTarget(p)).toBeUndefined();
    }
  });
});

describe('bearerKey', () => {
  it('takes the token of a Bearer header only', () => {
    expect(bearerKey('Bearer abc-123')).toBe('abc-123');
    expect(bearerKey('bearer  abc')).toBe('abc');
    expect(bearerKey('Basic abc')).toBeUndefined();
    expect(bearerKey('Bearer a b')).toBeUndefined();
    expect(bearerKey(undefined)).toBeUndefined();
  });
});

describe('offerProblem', () => {
  it('accepts H.264 video and Opus audio, whatever else is offered beside them', () => {
    expect(offeredMedia(offer(['VP8', 'H264', 'H264'], ['opus']))).toEqual([
      { kind: 'video', codecs: ['vp8', 'h264'] },
      { kind: 'audio', codecs: ['opus'] },
    ]);
    expect(offerProblem(offer(['VP8', 'H264'], ['opus', 'PCMU']))).toBeUndefined();
  });

  it('names what was offered when H.264 or Opus is missing', () => {
    expect(offerProblem(offer(['VP8', 'VP9'], ['opus']))).toBe(
      'H.264 video is needed (offered video: vp8,vp9; audio: opus)',
    );
    expect(offerProblem(offer(['H264'], ['PCMU']))).toBe('Opus audio is needed (offered video: h264; audio: pcmu)');
    expect(offerProblem('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n')).toBe(
      'one video and one audio section are needed (offered video: h264; audio: none)',
    );
  });
});

describe('ffmpegSdp', () => {
  it('points ffmpeg at the loopback ports with fixed payload types', () => {
    const sdp = ffmpegSdp({ video: 20000, audio: 20002 });
    expect(sdp).toContain('c=IN IP4 127.0.0.1');
    expect(sdp).toContain('m=video 20000 RTP/AVP 96\na=rtpmap:96 H264/90000');
    expect(sdp).toContain('m=audio 20002 RTP/AVP 111\na=rtpmap:111 opus/48000/2');
  });
});

describe('fragmentCandidates', () => {
  it('takes the candidate lines of a trickle fragment', () => {
    const body =
      'a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n';
    expect(fragmentCandidates(body)).toEqual(['candidate:1 1 udp 1 192.0.2.1 5000 typ host']);
  });
});

describe('ICE restart SDP', () => {
  const first = [
    'v=0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'a=ice-ufrag:old1',
    'a=ice-pwd:oldpassword',
    'a=mid:0',
    'a=candidate:1 1 udp 1 192.0.2.1 5000 typ host',
    'a=end-of-candidates',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=ice-ufrag:old1',
    'a=ice-pwd:oldpassword',
    'a=mid:1',
    '',
  ].join('\r\n');

  it('reads the credentials of an SDP or fragment, or none without both', () => {
    expect(iceCredentials(first)).toEqual({ ufrag: 'old1', pwd: 'oldpassword' });
    expect(iceCredentials('a=ice-ufrag:x\r\n')).toBeUndefined();
  });

  it('turns the first offer into the restart offer: new credentials everywhere, no old candidates', () => {
    const offer = restartedOffer(first, { ufrag: 'new2', pwd: 'newpassword' });
    expect(offer.match(/a=ice-ufrag:new2/g)).toHaveLength(2);
    expect(offer.match(/a=ice-pwd:newpassword/g)).toHaveLength(2);
    expect(offer).not.toMatch(/old|a=candidate|end-of-candidates/);
    expect(offer).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n');
  });

  it("makes an answer's fragment: credentials, the first section's line, mid and candidates", () => {
    expect(answerFragment(first)).toBe(
      'a=ice-ufrag:old1\r\na=ice-pwd:oldpassword\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n' +
        'a=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n',
    );
  });
});
