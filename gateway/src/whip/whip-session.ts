// One WHIP publish: werift's peer connection answers the encoder's offer (receive-only, H.264 and Opus only), and each
// RTP packet it receives goes to the media bridge with the payload type rewritten to the one the bridge's SDP names.
// Keyframes are asked for (PLI) when the first video packet arrives and then every segment duration, so ffmpeg can
// start (it needs SPS/PPS and an IDR) and every HLS segment can start on a keyframe.
import {
  RTCPeerConnection,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useTransportWideCC,
  useTWCC,
  type MediaStreamTrack,
} from 'werift';
import type { ChannelRoute } from '../../../contract/src/route-table.ts';
import type { WhipNetwork } from '../config/settings.ts';
import { MediaBridge } from './media-bridge.ts';
import {
  answerFragment,
  forwardedPayloadType,
  iceCredentials,
  restartedOffer,
  type IceCredentials,
} from './whip-sdp.ts';

export interface WhipSessionOptions {
  route: ChannelRoute;
  key: string;
  keyframeIntervalMs: number;
  /** Ports, announced addresses and STUN/TURN servers of ICE; none: ephemeral ports on the pod's own addresses. */
  network?: WhipNetwork;
  /** The session ended by itself (the connection failed, ffmpeg exited: e.g. the transcoder refused the publish). */
  onEnded(reason: string): void;
  /** What the media bridge's ffmpeg warned about (the key redacted): the one view into a stalled bridge. */
  onBridgeWarning?: (line: string) => void;
}

const gatherTimeoutMs = 5000;

/** werift's ICE settings for a network: an unset part leaves werift's default (ephemeral ports, own addresses). */
export function iceConfig(network: WhipNetwork | undefined) {
  return {
    ...(network?.udpPorts && { icePortRange: network.udpPorts }),
    ...(network?.announceAddresses.length && { iceAdditionalHostAddresses: network.announceAddresses }),
    ...(network?.iceServers.length && { iceServers: network.iceServers }),
  };
}

export class WhipSession {
  private readonly pc: RTCPeerConnection;
  private readonly bridge: MediaBridge;
  private pliTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly options: WhipSessionOptions;
  private offer = '';

  constructor(options: WhipSessionOptions) {
    this.options = options;
    this.pc = new RTCPeerConnection({
      codecs: {
        video: [useH264({ rtcpFeedback: [useNACK(), usePLI(), useTWCC()] })],
        audio: [useOPUS()],
      },
      // Transport-wide congestion control feedback, so the browser's bandwidth estimate (and with it the bitrate and
      // resolution it sends) can grow.
      headerExtensions: { video: [useTransportWideCC()], audio: [] },
      iceUseIpv6: false,
      ...iceConfig(options.network),
    });
    this.bridge = new MediaBridge({
      route: options.route,
      key: options.key,
      onExit: (code, tail) => this.end(`ffmpeg exited (${code}): ${tail.trim().split('\n').slice(-3).join(' | ')}`),
      onStderr: (line) => options.onBridgeWarning?.(line),
    });
    this.pc.onTrack.subscribe((track) => this.onTrack(track));
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed') this.end(`connection ${state}`);
    });
  }

  get ffmpegPid(): number | undefined {
    return this.bridge.pid;
  }

  /** The answer, with every candidate in it (gathering complete: no trickle needed from our side). */
  async answer(offer: string): Promise<string> {
    this.offer = offer;
    await this.negotiate(offer);
    await this.bridge.start();
    return this.pc.localDescription?.sdp ?? '';
  }

  /** The client's ICE credentials now (they change with an ICE restart). */
  get remoteCredentials(): IceCredentials | undefined {
    return iceCredentials(this.offer);
  }

  /**
   * An ICE restart on the answering side: werift restarts ICE when a remote description brings new credentials
   * (RTCIceTransport.setRemoteParams), with new local credentials and candidates; DTLS and the media go on.
   * Returns the fragment of the new answer (credentials and every candidate).
   */
  async restartIce(credentials: IceCredentials, candidates: string[]): Promise<string> {
    this.offer = restartedOffer(this.offer, credentials);
    await this.negotiate(this.offer);
    await this.addCandidates(candidates);
    return answerFragment(this.pc.localDescription?.sdp ?? '');
  }

  private async negotiate(offer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, gatherTimeoutMs);
        this.pc.iceGatheringStateChange.subscribe((s) => {
          if (s === 'complete') {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    }
  }

  async addCandidates(candidates: string[]): Promise<void> {
    for (const candidate of candidates) await this.pc.addIceCandidate({ candidate, sdpMLineIndex: 0 });
  }

  private onTrack(track: MediaStreamTrack): void {
    const kind = track.kind === 'video' ? 'video' : 'audio';
    const pt = forwardedPayloadType[kind];
    let first = true;
    track.onReceiveRtp.subscribe((rtp) => {
      const packet = rtp.serialize();
      packet[1] = ((packet[1] ?? 0) & 0x80) | pt; // keep the marker bit
      this.bridge.send(kind, packet);
      if (kind === 'video' && first) {
        first = false;
        this.requestKeyframe(track);
        this.pliTimer = setInterval(() => this.requestKeyframe(track), this.options.keyframeIntervalMs);
        this.pliTimer.unref();
      }
    });
  }

  private requestKeyframe(track: MediaStreamTrack): void {
    const receiver = this.pc.getTransceivers().find((t) => t.receiver.track === track)?.receiver;
    if (receiver && track.ssrc !== undefined) receiver.sendRtcpPLI(track.ssrc).catch(() => {});
  }

  private end(reason: string): void {
    if (this.closed) return;
    void this.close().then(() => this.options.onEnded(reason));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pliTimer);
    await this.bridge.close();
    await this.pc.close().catch(() => {});
  }
}
