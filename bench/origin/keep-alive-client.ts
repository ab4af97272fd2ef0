// A minimal HTTP/1.1 keep-alive client over one socket, for the viewer simulation: requests go one at a time (like a
// player's connection) and responses must carry Content-Length (the origin always sends it). Much cheaper than
// node:http per request, so thousands of simulated viewers measure the origin rather than the load generator.
import { connect, type Socket } from 'node:net';

export interface SimpleResponse {
  status: number;
  body: string; // only when keepBody
  length: number;
}

const headerEnd = Buffer.from('\r\n\r\n');

export class KeepAliveClient {
  private socket: Socket | undefined;
  private pending:
    | {
        keepBody: boolean;
        resolve: (r: SimpleResponse) => void;
        reject: (e: Error) => void;
        head: Buffer;
        status: number;
        remaining: number; // -1 until the head is parsed
        length: number;
        chunks: Buffer[];
      }
    | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(host: string, port: number) {
    this.host = host;
    this.port = port;
  }

  get(path: string, keepBody: boolean, timeoutMs: number): Promise<SimpleResponse> {
    if (this.pending) return Promise.reject(new Error('request already in flight'));
    const socket = this.socket ?? this.open();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error('timeout')), timeoutMs);
      this.pending = {
        keepBody,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        head: Buffer.alloc(0),
        status: 0,
        remaining: -1,
        length: 0,
        chunks: [],
      };
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nUser-Agent: bench-viewer\r\n\r\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.fail(new Error('connection closed'));
    });
    return socket;
  }

  private fail(err: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      this.close();
      pending.reject(err);
    }
  }

  private onData(data: Buffer): void {
    const p = this.pending;
    if (!p) return;
    let body = data;
    if (p.remaining < 0) {
      p.head = p.head.length ? Buffer.concat([p.head, data]) : data;
      const end = p.head.indexOf(headerEnd);
      if (end < 0) return;
      const head = p.head.subarray(0, end).toString('latin1');
      p.status = Number(head.slice(9, 12));
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!match) return this.fail(new Error('response without Content-Length'));
      p.remaining = Number(match[1]);
      body = p.head.subarray(end + 4);
    }
    p.length += body.length;
    p.remaining -= body.length;
    if (p.keepBody && body.length) p.chunks.push(body);
    if (p.remaining <= 0) {
      this.pending = undefined;
      p.resolve({ status: p.status, length: p.length, body: p.keepBody ? Buffer.concat(p.chunks).toString() : '' });
    }
  }
}
