// What the portal's pages show of the listings (pure): which channels the directory lists, and where a channel's
// stream page is in its life (live, before a scheduled start, after a session, or none of those).
import type { ChannelListing, ListingState } from '../../../contract/src/portal-directory.ts';

/** A scheduled start stays listed this long after its time ("starting soon"), for a streamer a little late. */
export const scheduledGraceMs = 15 * 60_000;

export function isOnAir(state: ListingState): boolean {
  return state === 'Live' || state === 'Reconnecting';
}

export interface DirectoryView {
  live: ChannelListing[];
  scheduled: ChannelListing[];
}

const byTitle = (a: ChannelListing, b: ChannelListing) =>
  a.title.localeCompare(b.title) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);

/** Public channels only: those on air (most watched first), then those scheduled (soonest first). */
export function directoryView(listings: Iterable<ChannelListing>, nowMs: number): DirectoryView {
  const live: ChannelListing[] = [];
  const scheduled: ChannelListing[] = [];
  for (const listing of listings) {
    if (listing.visibility !== 'public') continue;
    if (isOnAir(listing.state)) live.push(listing);
    else if (isUpcoming(listing, nowMs)) scheduled.push(listing);
  }
  live.sort((a, b) => b.viewers - a.viewers || byTitle(a, b));
  scheduled.sort((a, b) => Date.parse(a.scheduledStart!) - Date.parse(b.scheduledStart!) || byTitle(a, b));
  return { live, scheduled };
}

function isUpcoming(listing: ChannelListing, nowMs: number): boolean {
  return listing.scheduledStart !== undefined && Date.parse(listing.scheduledStart) > nowMs - scheduledGraceMs;
}

export type ChannelPhase = 'live' | 'scheduled' | 'ended' | 'offline';

export function channelPhase(listing: ChannelListing, nowMs: number): ChannelPhase {
  if (isOnAir(listing.state)) return 'live';
  if (isUpcoming(listing, nowMs)) return 'scheduled';
  if (listing.lastEndedAt !== undefined) return 'ended';
  return 'offline';
}

/** What a stream page's script is told about its channel (first on the page, then as each change arrives). */
export interface ChannelStatus {
  phase: ChannelPhase;
  state: ListingState;
  title: string;
  viewers: number;
  liveSince?: string;
  scheduledStart?: string;
  lastEndedAt?: string;
  descriptionHtml: string;
  /** after a session: the recording's path relative to the stream page (the gateway's VOD proxy), when there is one */
  vod?: string;
}
