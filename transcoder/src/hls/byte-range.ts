// The Range request header of RFC 9110, reduced to what an HLS origin needs (pure).

export interface ByteRange {
  start: number;
  end: number; // inclusive
}

// Single byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`); multiple ranges are served whole (allowed by RFC 9110).
// undefined: serve the whole file; 'invalid': 416 Range Not Satisfiable.
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | 'invalid' {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  let start: number;
  let end: number;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}
