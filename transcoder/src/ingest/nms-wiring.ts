// node-media-server as the ingest drives it: built but never run() (nms.ts says why), its log lines redacted, its
// session events routed to our hooks, its listeners opened by us (HTTP-FLV on loopback only), and the few changes
// we make to its sessions and broadcasts (closing, hiding a stream name, moving a broadcast to the internal path).
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { redact } from '../../../contract/src/redact.ts';
import { NodeMediaServer, nmsContext, nmsLogger, type NmsBroadcast, type NmsServer, type NmsSession } from './nms.ts';

// node-media-server logs stream paths (which carry the key) at every level: never let its text through raw.
export function redactStreamPaths(message: string): string {
  return redact(message, { streamPaths: true });
}

/** node-media-server's logger is module-level: its lines go to ours, redacted, debug chatter at trace. */
export function routeNmsLogs(logger: Logger): void {
  nmsLogger.level = 'trace';
  nmsLogger.log = (message: string, level = 'info') => {
    const text = redactStreamPaths(String(message));
    if (level === 'error') logger.error({ component: 'nms' }, text);
    else if (level === 'warn') logger.warn({ component: 'nms' }, text);
    else logger.trace({ component: 'nms' }, text);
  };
}

export function createNms(withFlv: boolean): NmsServer {
  return new NodeMediaServer({
    rtmp: { port: 1 }, // placeholder so the server object exists: we listen ourselves (listenNms)
    http: withFlv ? { port: 1 } : undefined,
    webadmin: { enable: false },
    auth: { play: false, publish: false },
  });
}

/** The node-media-server events the ingest acts on. */
export interface NmsHooks {
  prePublish(session: NmsSession): void;
  postPublish(session: NmsSession): void;
  donePublish(session: NmsSession): void;
  prePlay(session: NmsSession): void;
}

/** Subscribes the hooks to node-media-server's (process-wide) event bus; the returned function unsubscribes. */
export function wireNmsEvents(hooks: NmsHooks): () => void {
  const listeners: Array<[keyof NmsHooks, (session: NmsSession) => void]> = [
    ['prePublish', (s) => hooks.prePublish(s)],
    ['postPublish', (s) => hooks.postPublish(s)],
    ['donePublish', (s) => hooks.donePublish(s)],
    ['prePlay', (s) => hooks.prePlay(s)],
  ];
  for (const [name, fn] of listeners) nmsContext.eventEmitter.on(name, fn);
  return () => {
    for (const [name, fn] of listeners) nmsContext.eventEmitter.off(name, fn);
  };
}

export function destroySession(session: NmsSession): void {
  if (session.socket !== undefined) session.socket.destroy();
  else session.close();
}

/**
 * Ends a broadcast's players gracefully: what was already written to their sockets is still delivered, then they
 * read EOF. node-media-server itself keeps players attached after the publisher leaves (waiting for the next one).
 */
export function endPlayers(broadcast: NmsBroadcast): number {
  const players = [...broadcast.subscribers.values()];
  for (const player of players) player.close();
  return players.length;
}

/** Closes every session node-media-server holds (publishers, players). */
export function destroyAllSessions(): void {
  for (const session of nmsContext.sessions.values()) destroySession(session);
}

/** Forgets a refused session's stream name before node-media-server logs or stores anything about it. */
export function hideStreamName(session: NmsSession): void {
  session.streamName = '-';
  session.streamPath = `/${session.streamApp}/-`;
}

/**
 * Moves an accepted publisher's broadcast from /<app>/<key> to `path` inside node-media-server, so that the key is
 * never part of what the pod's own players (ladder, relays, HTTP-FLV) ask for.
 */
export function moveBroadcast(session: NmsSession, path: string, wasRefused: (sessionId: string) => boolean): void {
  const { broadcasts } = nmsContext;
  const broadcast = session.broadcast;
  const leftover = broadcasts.get(path);
  if (leftover !== undefined && leftover !== broadcast) {
    // Players of a previous publish (a stopping ffmpeg, HTTP-FLV viewers): they reconnect to the new one.
    for (const sub of leftover.subscribers.values()) destroySession(sub);
  }
  broadcasts.delete(broadcast.streamPath);
  broadcast.streamPath = path;
  broadcasts.set(path, broadcast);
  session.streamName = path.slice(path.lastIndexOf('/') + 1);
  session.streamPath = path;
  // A refused publisher may still hold this broadcast's slot until its close is processed: free it.
  if (broadcast.publisher !== null && wasRefused(broadcast.publisher.id)) broadcast.publisher = null;
}

export interface NmsListen {
  port: number; // RTMP, 0 = any free port
  host: string;
  flvPort?: number; // HTTP-FLV on 127.0.0.1; undefined = not started
}

/** Opens node-media-server's RTMP (and HTTP-FLV) listeners; resolves with the ports bound. */
export async function listenNms(
  nms: NmsServer,
  at: NmsListen,
  logger: Logger,
): Promise<{ port: number; flvPort: number | undefined }> {
  const rtmp = nms.rtmpServer.tcpServer;
  if (rtmp === undefined) throw new Error('node-media-server did not create its RTMP server');
  const port = await listen(rtmp, at.port, at.host, logger);
  if (at.flvPort === undefined) return { port, flvPort: undefined };
  const http = nms.httpServer.httpServer;
  if (http === undefined) throw new Error('node-media-server did not create its HTTP server');
  // node-media-server's own error handler calls process.exit(): ours reports instead.
  http.removeAllListeners('error');
  return { port, flvPort: await listen(http, at.flvPort, '127.0.0.1', logger) };
}

function listen(server: NetServer, port: number, host: string, logger: Logger): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', (err) => logger.error({ err, port }, 'listener error'));
      resolve((server.address() as AddressInfo).port);
    });
  });
}
