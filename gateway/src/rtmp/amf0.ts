// AMF0, the encoding of RTMP commands (connect, createStream, publish, onStatus...), as far as commands use it.
// Written here rather than taken from node-media-server's amf.js: that one is built for its own server (it logs
// through its logger, returns null on an unknown marker and then reads `.len` of it, measures strings in UTF-16
// units), and the gateway decodes bytes from anyone on the internet, so every read here is bounds-checked and
// anything malformed or unexpected throws `Amf0Error` (the session refuses it as a bad request). Pure.

export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | Amf0Object;
export interface Amf0Object {
  [key: string]: Amf0Value;
}

export class Amf0Error extends Error {}

const marker = {
  number: 0x00,
  boolean: 0x01,
  string: 0x02,
  object: 0x03,
  null: 0x05,
  undefined: 0x06,
  ecmaArray: 0x08,
  objectEnd: 0x09,
  strictArray: 0x0a,
  date: 0x0b,
  longString: 0x0c,
} as const;

const maxDepth = 16;
const maxItems = 4096;

class Reader {
  offset = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  need(n: number): void {
    if (this.offset + n > this.buf.length) throw new Amf0Error('AMF0 value truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }
  utf8(n: number): string {
    this.need(n);
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
  get done(): boolean {
    return this.offset >= this.buf.length;
  }
}

function readProperties(r: Reader, depth: number): Amf0Object {
  const obj: Amf0Object = Object.create(null) as Amf0Object;
  for (let i = 0; i <= maxItems; i++) {
    const key = r.utf8(r.u16());
    if (key === '') {
      if (r.u8() !== marker.objectEnd) throw new Amf0Error('AMF0 object without its end marker');
      return obj;
    }
    obj[key] = readValue(r, depth + 1);
  }
  throw new Amf0Error('AMF0 object too large');
}

function readValue(r: Reader, depth: number): Amf0Value {
  if (depth > maxDepth) throw new Amf0Error('AMF0 value nested too deeply');
  const type = r.u8();
  switch (type) {
    case marker.number:
      return r.f64();
    case marker.boolean:
      return r.u8() !== 0;
    case marker.string:
      return r.utf8(r.u16());
    case marker.longString:
      return r.utf8(r.u32());
    case marker.object:
      return readProperties(r, depth);
    case marker.ecmaArray:
      r.u32(); // the count is a hint only; the properties end with the object end marker
      return readProperties(r, depth);
    case marker.strictArray: {
      const n = r.u32();
      if (n > maxItems) throw new Amf0Error('AMF0 array too large');
      return Array.from({ length: n }, () => readValue(r, depth + 1));
    }
    case marker.null:
      return null;
    case marker.undefined:
      return undefined;
    case marker.date: {
      const ms = r.f64();
      r.u16(); // time zone, unused by every encoder
      return new Date(ms);
    }
    default:
      throw new Amf0Error(`AMF0 marker 0x${type.toString(16)} is not supported`);
  }
}

/** Every value in `buf`, in order. Throws Amf0Error on anything malformed. */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const r = new Reader(buf);
  const values: Amf0Value[] = [];
  while (!r.done) {
    if (values.length >= maxItems) throw new Amf0Error('too many AMF0 values');
    values.push(readValue(r, 0));
  }
  return values;
}

function stringBytes(s: string, long: boolean): Buffer[] {
  const body = Buffer.from(s, 'utf8');
  const head = Buffer.alloc(long ? 4 : 2);
  if (long) head.writeUInt32BE(body.length);
  else head.writeUInt16BE(body.length);
  return [head, body];
}

function encodeValue(v: Amf0Value, out: Buffer[]): void {
  if (v === null) out.push(Buffer.of(marker.null));
  else if (v === undefined) out.push(Buffer.of(marker.undefined));
  else if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = marker.number;
    b.writeDoubleBE(v, 1);
    out.push(b);
  } else if (typeof v === 'boolean') out.push(Buffer.of(marker.boolean, v ? 1 : 0));
  else if (typeof v === 'string') {
    const long = Buffer.byteLength(v, 'utf8') > 0xffff;
    out.push(Buffer.of(long ? marker.longString : marker.string), ...stringBytes(v, long));
  } else if (v instanceof Date) {
    const b = Buffer.alloc(11);
    b[0] = marker.date;
    b.writeDoubleBE(v.getTime(), 1);
    out.push(b);
  } else if (Array.isArray(v)) {
    const head = Buffer.alloc(5);
    head[0] = marker.strictArray;
    head.writeUInt32BE(v.length, 1);
    out.push(head);
    for (const item of v) encodeValue(item, out);
  } else {
    out.push(Buffer.of(marker.object));
    for (const [key, value] of Object.entries(v)) {
      out.push(...stringBytes(key, false));
      encodeValue(value, out);
    }
    out.push(Buffer.of(0, 0, marker.objectEnd));
  }
}

export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const out: Buffer[] = [];
  for (const v of values) encodeValue(v, out);
  return Buffer.concat(out);
}

/** A command message's fields: name, transaction id, command object, then the arguments. */
export interface Command {
  name: string;
  transactionId: number;
  object: Amf0Value;
  args: Amf0Value[];
}

export function decodeCommand(payload: Buffer): Command {
  const [name, transactionId, object, ...args] = decodeAmf0(payload);
  if (typeof name !== 'string' || typeof transactionId !== 'number') {
    throw new Amf0Error('an RTMP command starts with its name and transaction id');
  }
  return { name, transactionId, object: object ?? null, args };
}

export function encodeCommand(command: Command): Buffer {
  return encodeAmf0(command.name, command.transactionId, command.object, ...command.args);
}
