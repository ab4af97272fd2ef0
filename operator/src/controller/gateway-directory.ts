// What the portal lists of each channel (contract/src/portal-directory.ts), built from the LiveStream as the
// operator's cache holds it, and the difference between two sets of listings as one update's upserts and deletes.
// The runner (gateway-directory-runner.ts) pushes that difference to every gateway replica. Pure.
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { scheduledStartIgnored, scheduledStartMaxAgeMs } from '../../../contract/src/api/audience.ts';
import {
  descriptionMaxLength,
  listingStates,
  titleMaxLength,
  type ChannelListing,
  type ChannelRef,
  type ChannelVod,
  type ListingState,
} from '../../../contract/src/portal-directory.ts';
import { channelId, visibilities, type Visibility } from '../../../contract/src/route-table.ts';

const maxViewers = 1e9;

const validTime = (t: unknown): t is string => typeof t === 'string' && !Number.isNaN(Date.parse(t));
const isState = (s: unknown): s is ListingState => listingStates.includes(s as ListingState);
const isVisibility = (v: unknown): v is Visibility => visibilities.includes(v as Visibility);

/**
 * The channel's listing at `nowMs`. The CRD validates the audience fields; what still does not fit the contract is
 * left out or clipped here rather than sent, since one invalid listing would make a replica refuse the whole update.
 * A visibility that is not one of the four is shown as private: an unknown value never opens a channel.
 */
export function channelListing(ls: LiveStream, nowMs: number): ChannelListing {
  const name = ls.metadata.name ?? '';
  const audience = ls.spec.audience;
  const status = ls.status;
  const state = isState(status?.state) ? status.state : 'Pending';
  const title = audience?.title?.trim() ? audience.title : name;
  // The CRD defaults visibility to public; a LiveStream without an audience is public too.
  const visibility = audience?.visibility ?? 'public';
  const listing: ChannelListing = {
    namespace: ls.metadata.namespace ?? '',
    name,
    title: title.slice(0, titleMaxLength),
    visibility: isVisibility(visibility) ? visibility : 'private',
    state,
    viewers: Math.min(maxViewers, Math.max(0, Math.floor(status?.viewers ?? 0))),
  };
  if (audience?.description) listing.description = audience.description.slice(0, descriptionMaxLength);
  const scheduled = audience?.scheduledStart;
  if (scheduled !== undefined && !scheduledStartIgnored(scheduled, nowMs)) listing.scheduledStart = scheduled;
  const startedAt = status?.session?.startedAt;
  if ((state === 'Live' || state === 'Reconnecting') && validTime(startedAt)) listing.liveSince = startedAt;
  const endedAt = status?.sessions?.[0]?.endedAt;
  if (validTime(endedAt)) listing.lastEndedAt = endedAt;
  return listing;
}

/** Listings already built, by the cached LiveStream object they came from (the informer replaces it on a change). */
export type ListingMemo = WeakMap<LiveStream, { listing: ChannelListing; untilMs: number }>;

/** Until when a listing built at `nowMs` holds: the only input besides the object is the clock, via scheduledStart. */
function listingValidUntil(listing: ChannelListing): number {
  return listing.scheduledStart === undefined ? Infinity : Date.parse(listing.scheduledStart) + scheduledStartMaxAgeMs;
}

/**
 * Every channel's listing by channel id ("namespace/name"). With a memo, an unchanged LiveStream object gives the
 * same listing object again, so the diff of a fleet where little changed is mostly identity checks. `vod` gives a
 * channel's presigned recording (recording-presign.ts), added outside the memo: it changes without the object.
 */
export function listingsById(
  channels: Iterable<LiveStream>,
  nowMs: number,
  memo?: ListingMemo,
  vod?: (ls: LiveStream) => ChannelVod | undefined,
): Map<string, ChannelListing> {
  const listings = new Map<string, ChannelListing>();
  for (const ls of channels) {
    const kept = memo?.get(ls);
    let listing = kept && nowMs < kept.untilMs ? kept.listing : undefined;
    if (!listing) {
      listing = channelListing(ls, nowMs);
      memo?.set(ls, { listing, untilMs: listingValidUntil(listing) });
    }
    const recording = vod?.(ls);
    listings.set(channelId(listing.namespace, listing.name), recording ? { ...listing, vod: recording } : listing);
  }
  return listings;
}

const listingFields = [
  'title',
  'description',
  'visibility',
  'scheduledStart',
  'state',
  'liveSince',
  'lastEndedAt',
  'viewers',
] as const satisfies readonly (keyof ChannelListing)[];

const sameVod = (a: ChannelVod | undefined, b: ChannelVod | undefined): boolean =>
  a === b || (a?.url === b?.url && a?.session === b?.session && a?.expiresAt === b?.expiresAt);

export function sameListing(a: ChannelListing, b: ChannelListing): boolean {
  return a === b || (listingFields.every((f) => a[f] === b[f]) && sameVod(a.vod, b.vod));
}

export interface ListingDiff {
  upserts: ChannelListing[];
  deletes: ChannelRef[];
}

/** What turns `held` into `wanted`: the listings new or changed, and the channels gone; sorted by channel id. */
export function diffListings(
  held: ReadonlyMap<string, ChannelListing>,
  wanted: ReadonlyMap<string, ChannelListing>,
): ListingDiff {
  const upserts: ChannelListing[] = [];
  const deletes: ChannelRef[] = [];
  for (const [id, listing] of wanted) {
    const before = held.get(id);
    if (!before || !sameListing(before, listing)) upserts.push(listing);
  }
  for (const [id, listing] of held) {
    if (!wanted.has(id)) deletes.push({ namespace: listing.namespace, name: listing.name });
  }
  const order = (a: ChannelRef, b: ChannelRef) =>
    a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
  return { upserts: upserts.sort(order), deletes: deletes.sort(order) };
}

export interface BatchLimits {
  /** Listings plus deletes in one request. */
  maxItems: number;
  /** Serialized size of the listings and deletes in one request (the replica bounds the body). */
  maxBytes: number;
}

/**
 * Splits a diff into requests within the limits, in order: every part but the first continues the one before (a
 * reset is sent as a reset with the first part). A diff with nothing in it is one empty part (a heartbeat that asks
 * the replica whether it still holds our sequence). Deletes go last: they are small and never make a batch too big.
 */
export function batchDiff(diff: ListingDiff, limits: BatchLimits): ListingDiff[] {
  const batches: ListingDiff[] = [];
  let current: ListingDiff = { upserts: [], deletes: [] };
  let items = 0;
  let bytes = 0;
  const add = (size: number, put: (b: ListingDiff) => void) => {
    if (items > 0 && (items + 1 > limits.maxItems || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = { upserts: [], deletes: [] };
      items = 0;
      bytes = 0;
    }
    put(current);
    items++;
    bytes += size;
  };
  const size = (item: unknown) => Buffer.byteLength(JSON.stringify(item)) + 1;
  for (const listing of diff.upserts) add(size(listing), (b) => b.upserts.push(listing));
  for (const ref of diff.deletes) add(size(ref), (b) => b.deletes.push(ref));
  batches.push(current);
  return batches;
}
