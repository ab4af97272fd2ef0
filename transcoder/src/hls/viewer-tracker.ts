// Who is watching: HLS viewers seen in a sliding window (by player token, else by address + User-Agent) plus the
// HTTP-FLV viewers connected right now. The gateway's own requests (gatewayRequestHeader) are not viewers: the
// gateway counts the viewers behind it itself, and the operator sums both.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  anonymousViewerId,
  gatewayRequestHeader,
  viewerToken,
  ViewerWindow,
} from '../../../contract/src/viewer-window.ts';

const fromGateway = (req: IncomingMessage): boolean => req.headers[gatewayRequestHeader] !== undefined;

export class ViewerTracker {
  private readonly window: ViewerWindow;
  // Without a player token a viewer is its address + User-Agent: hashed once per keep-alive connection.
  private readonly connectionViewer = new WeakMap<object, { ua: string; id: string }>();
  private flvViewers = 0;

  constructor(windowMs: number) {
    this.window = new ViewerWindow({ windowMs });
  }

  count(): number {
    return this.window.count(Date.now()) + this.flvViewers;
  }

  // Highest HLS count since resetPeak() (the caller also compares with count(), which includes HTTP-FLV viewers).
  windowPeak(): number {
    return this.window.peak();
  }

  resetPeak(): void {
    this.window.resetPeak(Date.now());
  }

  see(req: IncomingMessage, query: string): void {
    if (fromGateway(req)) return;
    this.window.touch(viewerToken(query) ?? this.connectionId(req), Date.now());
  }

  // An HTTP-FLV viewer, counted until its response closes.
  watchFlv(res: ServerResponse): void {
    if (fromGateway(res.req)) return;
    this.flvViewers++;
    res.once('close', () => this.flvViewers--);
  }

  private connectionId(req: IncomingMessage): string {
    const ua = req.headers['user-agent'] ?? '';
    const known = this.connectionViewer.get(req.socket);
    if (known && known.ua === ua) return known.id;
    const id = anonymousViewerId(req.socket.remoteAddress ?? '', ua);
    this.connectionViewer.set(req.socket, { ua, id });
    return id;
  }
}
