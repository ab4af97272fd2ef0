// What the viewer portal knows about each channel, between the operator (the only part that reads LiveStreams and
// their status) and the gateway (serves the directory, the stream pages and their live updates). The operator pushes
// changes to every gateway replica; a replica keeps them in memory and answers with what it holds, so a replica that
// restarted (or missed a push) is sent everything again. Pure.
//
// POST /admin/directory   (Authorization: Bearer <admin token>, gateway-admin.ts)
//   {"generation": "<operator run id>", "sequence": 7, "reset": false,
//    "upserts": [<ChannelListing>], "deletes": [{"namespace", "name"}]}
// answer 200 {"replica": "<pod>", "generation": "<as held>", "sequence": <as held>}
//   A replica applies an update only when it is a reset, or continues what it holds (same generation, sequence + 1);
//   otherwise it answers 409 with what it holds and the operator sends a reset.
//
// Every channel is listed here, whatever its visibility: the gateway lists only `public` ones in the directory, and
// serves the stream page of the others (unlisted by URL; private and password ones with their gate).
import { z } from 'zod';
import { visibilities, type Visibility } from './route-table.ts';

export const adminDirectoryPath = '/admin/directory';
export const titleMaxLength = 140;
export const descriptionMaxLength = 5000;
/** The largest update body a replica reads (413 beyond): send a large directory as a reset and its continuations. */
export const directoryUpdateMaxBytes = 16 * 1024 * 1024;

/** The channel states a listing shows (the LiveStream's status.state). */
export const listingStates = ['Pending', 'Idle', 'Live', 'Reconnecting', 'Failed', 'Paused'] as const;
export type ListingState = (typeof listingStates)[number];

export interface ChannelListing {
  namespace: string;
  name: string;
  /** The title to show; the channel's name when its spec has none. */
  title: string;
  /** Markdown as the streamer wrote it: the gateway renders and sanitizes it. */
  description?: string;
  visibility: Visibility;
  /** When the streamer plans to start (RFC 3339). */
  scheduledStart?: string;
  state: ListingState;
  /** The current session's start, while there is one (RFC 3339). */
  liveSince?: string;
  /** When the last session ended (RFC 3339). */
  lastEndedAt?: string;
  /** Viewers now, summed over the transcoder and every gateway replica. */
  viewers: number;
  /** The newest finalized recording's MP4; absent without one (and from an operator that predates it). */
  vod?: ChannelVod;
}

/** The content types a VOD is served as (the finalize Job writes MP4). */
export const vodContentTypes = ['video/mp4'] as const;
export type VodContentType = (typeof vodContentTypes)[number];
/** A presigned URL's length bound: a SigV4 query with a session token stays well below it. */
export const vodUrlMaxLength = 8192;

/**
 * A recording to play: a presigned HTTP(S) GET of its object, for the gateway to proxy (viewers never see the URL,
 * which carries a signature; the gateway serves it from its own origin under the channel's playback rules).
 */
export interface ChannelVod {
  /** The session it recorded. */
  session: string;
  url: string;
  /** When the URL stops working (RFC 3339); the operator presigns again well before. */
  expiresAt: string;
  contentType: VodContentType;
}

export interface ChannelRef {
  namespace: string;
  name: string;
}

export interface DirectoryUpdate {
  generation: string;
  sequence: number;
  reset: boolean;
  upserts: ChannelListing[];
  deletes: ChannelRef[];
}

export interface DirectoryAnswer {
  replica: string;
  generation: string;
  sequence: number;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const rfc3339 = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 time');
const ref = { namespace: z.string().regex(dnsLabel), name: z.string().regex(dnsSubdomain) };

const httpUrl = z
  .string()
  .max(vodUrlMaxLength)
  .refine((s) => URL.canParse(s) && ['https:', 'http:'].includes(new URL(s).protocol), 'must be an http(s) URL');

const vodSchema = z
  .object({
    session: z.string().min(1).max(253),
    url: httpUrl,
    expiresAt: rfc3339,
    contentType: z.enum(vodContentTypes),
  })
  .strict();

const listingSchema = z
  .object({
    ...ref,
    title: z.string().min(1).max(titleMaxLength),
    description: z.string().max(descriptionMaxLength).optional(),
    visibility: z.enum(visibilities as [Visibility, ...Visibility[]]),
    scheduledStart: rfc3339.optional(),
    state: z.enum(listingStates),
    liveSince: rfc3339.optional(),
    lastEndedAt: rfc3339.optional(),
    viewers: z.number().int().min(0).max(1e9),
    vod: vodSchema.optional(),
  })
  .strict();

export const directoryUpdateSchema = z
  .object({
    generation: z.string().min(1).max(128),
    sequence: z.number().int().min(0),
    reset: z.boolean(),
    upserts: z.array(listingSchema).max(100_000),
    deletes: z.array(z.object(ref).strict()).max(100_000),
  })
  .strict();

export const directoryAnswerSchema = z.object({
  replica: z.string().max(253),
  generation: z.string().max(128),
  sequence: z.number().int().min(0),
});

function parseWith<T>(schema: z.ZodType<T>, what: string, json: unknown): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(`${what} is malformed at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
}

/** Parses a pushed update; throws naming the field (never echoing a value) when it is not one. */
export function parseDirectoryUpdate(json: unknown): DirectoryUpdate {
  return parseWith(directoryUpdateSchema, 'the directory update', json);
}

export function parseDirectoryAnswer(json: unknown): DirectoryAnswer {
  return parseWith(directoryAnswerSchema, 'the directory answer', json);
}

/** Whether a replica holding `held` takes `update`: a reset always; otherwise only the next one of its generation. */
export function acceptsUpdate(
  held: Pick<DirectoryAnswer, 'generation' | 'sequence'>,
  update: DirectoryUpdate,
): boolean {
  return update.reset || (update.generation === held.generation && update.sequence === held.sequence + 1);
}
