// Debian's headless Chromium for browser tests (playwright-core drives it; no browser download). The flags keep it
// off this machine's closed network and let video autoplay without a user gesture.
import { chromium, type Browser } from 'playwright-core';

/** `extraArgs`: e.g. the fake camera and microphone flags for WebRTC publishers. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}
