// The gateway's playback authorization wired to its route table and its playback keys directory (gateway.ts).
import type { Registry } from 'prom-client';
import type { ChannelAccess } from '../../../contract/src/route-table.ts';
import type { GatewaySettings } from '../config/settings.ts';
import { createAccessContext, type AccessContext } from './playback-access.ts';
import type { PlaybackKeys } from './playback-keys.ts';
import { sessionKey } from './session-token.ts';

export interface AccessRoutes {
  access(namespace: string, name: string): ChannelAccess;
  routingSecret(): Buffer | undefined;
  playbackKeys(dir: string): PlaybackKeys;
}

/** The access context over `routes` (which watch the keys directory), once the keys have been read. */
export async function startGatewayAccess(
  settings: Pick<GatewaySettings, 'trustedProxies' | 'playbackKeysDir'>,
  routes: AccessRoutes,
  registry: Registry,
): Promise<AccessContext> {
  const keys = routes.playbackKeys(settings.playbackKeysDir);
  await keys.loaded;
  let derived: { secret: Buffer; key: Buffer } | undefined; // derived once per routing secret
  const access = createAccessContext({
    access: (ns, name) => routes.access(ns, name),
    sessionKey: () => {
      const secret = routes.routingSecret();
      if (secret && derived?.secret !== secret) derived = { secret, key: sessionKey(secret) };
      return secret && derived?.key;
    },
    keys,
    trustedProxies: settings.trustedProxies,
    registry,
  });
  return access;
}
