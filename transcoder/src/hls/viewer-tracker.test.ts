import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ViewerTracker } from './viewer-tracker.ts';

const request = (socket: object, ua: string, extra: IncomingHttpHeaders = {}): IncomingMessage =>
  ({ headers: { 'user-agent': ua, ...extra }, socket }) as unknown as IncomingMessage;

const response = (req: IncomingMessage): ServerResponse =>
  Object.assign(new EventEmitter(), { req }) as unknown as ServerResponse;

describe('ViewerTracker', () => {
  it('counts a player token as one viewer, and address + User-Agent as one viewer across connections', () => {
    const tracker = new ViewerTracker(30_000);
    const a = { remoteAddress: '10.0.0.1' };
    const b = { remoteAddress: '10.0.0.1' };
    tracker.see(request(a, 'tv'), 'vs=token-one-1');
    tracker.see(request(b, 'tv'), 'vs=token-one-1');
    expect(tracker.count()).toBe(1);
    tracker.see(request(a, 'tv'), ''); // no token: the connection's address + User-Agent
    tracker.see(request(b, 'tv'), '');
    expect(tracker.count()).toBe(2);
    tracker.see(request(a, 'phone'), ''); // another User-Agent on the same connection is another viewer
    tracker.see(request({ remoteAddress: '10.0.0.2' }, 'tv'), 'vs=bad'); // malformed token: by address
    expect(tracker.count()).toBe(4);
    expect(tracker.windowPeak()).toBe(4);
  });

  it('counts an HTTP-FLV viewer until its response closes', () => {
    const tracker = new ViewerTracker(30_000);
    const res = response(request({ remoteAddress: '10.0.0.1' }, 'vlc'));
    tracker.watchFlv(res);
    expect(tracker.count()).toBe(1);
    res.emit('close');
    expect(tracker.count()).toBe(0);
  });

  it('does not count the gateway, which counts its own viewers', () => {
    const tracker = new ViewerTracker(30_000);
    const gateway = { 'x-livestream-gateway': '1' };
    tracker.see(request({ remoteAddress: '10.0.0.9' }, 'gw', gateway), '');
    tracker.see(request({ remoteAddress: '10.0.0.9' }, 'gw', gateway), 'vs=token-one-1');
    const res = response(request({ remoteAddress: '10.0.0.9' }, 'gw', gateway));
    tracker.watchFlv(res);
    expect(tracker.count()).toBe(0);
    res.emit('close');
    expect(tracker.count()).toBe(0);
    tracker.see(request({ remoteAddress: '10.0.0.9' }, 'gw'), '');
    expect(tracker.count()).toBe(1);
  });
});
