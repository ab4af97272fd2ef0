// Why the gateway refuses a publish, and what the encoder is told (pure). The status is an onStatus at level
// `error` on the publish's stream: ffmpeg logs "Server error: <description>", OBS shows a failed connection. A
// description names the reason, never the key.

export const refusalReasons = ['unknown_key', 'busy', 'backend_unavailable', 'rate_limited', 'bad_request'] as const;
export type RefusalReason = (typeof refusalReasons)[number];

export interface RefusalStatus {
  code: string;
  description: string;
}

const statuses: Record<RefusalReason, RefusalStatus> = {
  // NetStream.Publish.BadName is what servers send for a name already being published (nginx-rtmp, Wowza).
  busy: { code: 'NetStream.Publish.BadName', description: 'the channel already has a publisher' },
  unknown_key: { code: 'NetStream.Publish.Denied', description: 'the stream key is not valid' },
  backend_unavailable: {
    code: 'NetStream.Publish.Failed',
    description: 'the channel is not reachable right now, retry in a few seconds',
  },
  rate_limited: { code: 'NetStream.Publish.Denied', description: 'too many refused attempts, retry later' },
  bad_request: { code: 'NetStream.Publish.Denied', description: 'not a publish this server accepts' },
};

export function refusalStatus(reason: RefusalReason): RefusalStatus {
  return statuses[reason];
}
