// The gateway's admin endpoints, between the gateway (serves them on its HTTP port) and the operator (polls them):
// paths, the bearer token's file and rules, and the answers' shapes. Pure.
//
// GET /admin/viewers  {"replica": "<pod>", "at": "<RFC 3339>", "channels": [{"namespace", "name", "viewers"}]}
// GET /admin/routes   {"replica", "at", "channels": [{"namespace", "name", "app", "rtmp", "http", "keys",
//                      "supersededNotAfter"?}]}  (never a key hash)
//
// Both want `Authorization: Bearer <token>`; the token is the file's text without surrounding whitespace, from the
// Secret the operator makes once (data key `token`).
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const adminViewersPath = '/admin/viewers';
export const adminRoutesPath = '/admin/routes';
/** The admin token's data key in its Secret, and its file name where the gateway mounts it. */
export const adminTokenFileName = 'token';
export const adminTokenMinLength = 32;

/** The admin token from its file: the text without surrounding whitespace, at least adminTokenMinLength long. */
export function parseAdminToken(content: Buffer | string): string {
  const text = content.toString().trim();
  if (text.length < adminTokenMinLength) {
    throw new Error(`the admin token must have at least ${adminTokenMinLength} characters`);
  }
  return text;
}

/** The token of an `Authorization: Bearer <token>` header; undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

/** Constant time in both the presented and the expected token (both hashed first, so their lengths do not leak). */
export function tokenMatches(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;

export const viewersAnswerSchema = z.object({
  replica: z.string().max(253),
  at: z.string(),
  channels: z
    .array(
      z.object({
        namespace: z.string().regex(dnsLabel),
        name: z.string().regex(dnsSubdomain),
        viewers: z.number().int().min(0).max(1e9),
      }),
    )
    .max(100_000),
});

export type ViewersAnswer = z.infer<typeof viewersAnswerSchema>;
export type ChannelViewerCount = ViewersAnswer['channels'][number];

export interface RoutedChannelListing {
  namespace: string;
  name: string;
  app: string;
  rtmp: string;
  http: string;
  /** Keys that open the channel now: the current one and those still in a rotation's grace. */
  keys: number;
  /** The earliest notAfter among the superseded keys still accepted; absent: none. */
  supersededNotAfter?: string;
}

export interface RoutesAnswer {
  replica: string;
  at: string;
  channels: RoutedChannelListing[];
}

/** Parses a /admin/viewers answer; throws naming the field (never echoing a value) when it is not one. */
export function parseViewersAnswer(json: unknown): ViewersAnswer {
  const parsed = viewersAnswerSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`the viewers answer is malformed at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`);
  }
  return parsed.data;
}
