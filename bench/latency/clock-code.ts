// The publisher's wall clock written into every frame as blocks a reader decodes without OCR (pure). Two rows of
// `bits` blocks: the top row is the time in milliseconds modulo 2^bits (least significant bit on the left), the bottom
// row its complement, so a frame caught between two values or smeared by the encoder fails the check instead of
// giving a wrong time. The blocks are large (24 px at 360p, 12 px at 180p) so any rung of the ladder keeps them.
//
// In ffmpeg, `setpts=RTCTIME` stamps each frame of a tiny source with the wall clock at the moment the filter graph
// makes it (once per frame, unlike a per-pixel time(0)), geq turns that stamp into the blocks, and the frame is
// scaled up and laid over the test pattern. Under `-re` a frame is made when ffmpeg reads it, that is when it is
// captured: everything after that (encode, RTMP, ladder, packaging, delivery, the player's buffer) is measured.

export const clockBits = 24;
const modulus = 2 ** clockBits; // 4.6 hours of milliseconds: far beyond any latency, so the wrap is unambiguous

export interface ClockLayout {
  width: number; // the published frame
  height: number;
  x: number; // the code's top-left corner and size, in the published frame's pixels
  y: number;
  blockWidth: number;
  blockHeight: number;
}

export const clockLayout: ClockLayout = { width: 640, height: 360, x: 32, y: 16, blockWidth: 24, blockHeight: 24 };

/** The code's rectangle as fractions of the frame: the same on every rung of the ladder. */
export function clockRegion(layout: ClockLayout = clockLayout): { x: number; y: number; w: number; h: number } {
  return {
    x: layout.x / layout.width,
    y: layout.y / layout.height,
    w: (layout.blockWidth * clockBits) / layout.width,
    h: (layout.blockHeight * 2) / layout.height,
  };
}

/** A lavfi graph (one output, `[out0]`): testsrc2 with the clock laid over it. */
export function clockSourceGraph(fps: number, layout: ClockLayout = clockLayout): string {
  const ms = `mod(floor(T*1000)\\,${modulus})`;
  const bit = `mod(floor(${ms}/pow(2\\,X))\\,2)`;
  const lum = `255*if(lt(Y\\,1)\\,${bit}\\,1-${bit})`;
  const code = [
    `color=black:size=${clockBits}x2:rate=${fps}`,
    'format=gray',
    'settb=1/1000000',
    'setpts=RTCTIME', // microseconds since the epoch: T in geq is then the wall clock in seconds
    `geq=lum='${lum}'`,
    `setpts=N/(${fps}*TB)`, // back to the pattern's timestamps, so overlay pairs frame n with frame n
    `scale=${clockBits * layout.blockWidth}:${2 * layout.blockHeight}:flags=neighbor`,
    'format=yuv420p',
  ].join(',');
  return [
    `testsrc2=size=${layout.width}x${layout.height}:rate=${fps}[bg]`,
    `${code}[code]`,
    `[bg][code]overlay=${layout.x}:${layout.y}:shortest=1,format=yuv420p[out0]`,
  ].join(';');
}

/**
 * The time a frame carries (milliseconds modulo 2^bits), from the mean luma of each block's centre: `top` and
 * `bottom` hold one value per block. Undefined when the rows do not complement each other or a block is grey.
 */
export function decodeClock(top: readonly number[], bottom: readonly number[], margin = 48): number | undefined {
  if (top.length !== clockBits || bottom.length !== clockBits) return undefined;
  let value = 0;
  for (let i = 0; i < clockBits; i++) {
    const [t, b] = [top[i]!, bottom[i]!];
    if (Math.abs(t - 128) < margin || Math.abs(b - 128) < margin) return undefined;
    if (t > 128 === b > 128) return undefined;
    if (t > 128) value += 2 ** i;
  }
  return value;
}

/** How long ago (ms) a frame stamped `code` was captured, seen at `seenAtMs` (epoch ms); undefined if impossible. */
export function latencyMs(code: number, seenAtMs: number): number | undefined {
  const age = (((seenAtMs - code) % modulus) + modulus) % modulus;
  return age < modulus / 2 ? age : undefined; // "in the future": a clock or decoding error, not a latency
}

/** The code a frame captured at `atMs` carries (for tests and for checking a reader against the writer). */
export const encodeClock = (atMs: number): number => Math.floor(atMs) % modulus;
