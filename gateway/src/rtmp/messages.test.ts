import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientAck, clientHello, handshakeSize, serverHandshake } from './messages.ts';
import { refusalReasons, refusalStatus } from './refusals.ts';

describe('handshake', () => {
  it('answers C0+C1 with S0, S1 and S2 = C1, and acknowledges S1 as a client', () => {
    const c0c1 = clientHello(randomBytes(handshakeSize));
    expect(c0c1).toHaveLength(1 + handshakeSize);
    const reply = serverHandshake(c0c1, randomBytes(handshakeSize))!;
    expect(reply).toHaveLength(1 + 2 * handshakeSize);
    expect(reply[0]).toBe(3);
    expect(reply.subarray(1 + handshakeSize)).toEqual(c0c1.subarray(1));
    expect(clientAck(reply)).toEqual(reply.subarray(1, 1 + handshakeSize));
  });

  it('refuses what is not RTMP 3 or is short', () => {
    const c0c1 = clientHello(randomBytes(handshakeSize));
    expect(
      serverHandshake(Buffer.concat([Buffer.of(6), c0c1.subarray(1)]), randomBytes(handshakeSize)),
    ).toBeUndefined();
    expect(serverHandshake(Buffer.from('GET / HTTP/1.1\r\n'), randomBytes(handshakeSize))).toBeUndefined();
    expect(clientAck(Buffer.alloc(100, 3))).toBeUndefined();
  });
});

describe('refusals', () => {
  it('tells the encoder an error status per reason, busy as BadName, never naming a key', () => {
    for (const reason of refusalReasons) {
      const s = refusalStatus(reason);
      expect(s.code).toMatch(/^NetStream\.Publish\./);
      expect(s.description).not.toMatch(/key [a-z0-9]{8,}/i);
    }
    expect(refusalStatus('busy').code).toBe('NetStream.Publish.BadName');
    expect(new Set(refusalReasons.map((r) => refusalStatus(r).description)).size).toBe(refusalReasons.length);
  });
});
