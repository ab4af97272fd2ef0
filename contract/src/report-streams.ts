// Where each channel reports, and what its credential may do there. Each LiveStream has its own Redis stream and
// its own Redis ACL user (docs/adr/0005-redis-for-reports.md): the user may XADD to that one stream and nothing else,
// so a pod of one namespace can neither forge, read nor swallow another channel's reports, and the operator takes a
// report's channel from the stream it came from, never from what the entry claims. Pure: both sides import it.
import { createHash } from 'node:crypto';

/** Every channel stream starts with this; the rest is `<namespace>:<name>`. */
export const channelStreamPrefix = 'livestream:events:';
/** Every channel user starts with this; the rest is `<namespace>:<name>`. */
export const channelUserPrefix = 'ch:';

export interface Channel {
  namespace: string;
  name: string;
}

// Kubernetes names: a namespace is a DNS label, a LiveStream name a DNS subdomain. Neither holds ':' (the separator
// here), whitespace (which would split an ACL rule) or a glob character (ACL key patterns are globs).
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Throws unless namespace and name are Kubernetes names (and so safe in a key, a user name and an ACL rule). */
export function checkChannel({ namespace, name }: Channel): Channel {
  if (!dnsLabel.test(namespace)) throw new Error('a channel namespace must be a DNS label');
  if (!dnsSubdomain.test(name)) throw new Error('a channel name must be a DNS subdomain');
  return { namespace, name };
}

/** The stream a channel's transcoder and relay write to: `livestream:events:<namespace>:<name>`. */
export function channelStream(channel: Channel): string {
  const { namespace, name } = checkChannel(channel);
  return `${channelStreamPrefix}${namespace}:${name}`;
}

/** The ACL user of a channel: `ch:<namespace>:<name>`. */
export function channelUser(channel: Channel): string {
  const { namespace, name } = checkChannel(channel);
  return `${channelUserPrefix}${namespace}:${name}`;
}

/** The channel of a stream or user name with `prefix`, or undefined for any other name. */
function channelAfter(prefix: string, value: string): Channel | undefined {
  if (!value.startsWith(prefix)) return undefined;
  const [namespace = '', name = '', ...rest] = value.slice(prefix.length).split(':');
  if (rest.length > 0 || !dnsLabel.test(namespace) || !dnsSubdomain.test(name)) return undefined;
  return { namespace, name };
}

/** The channel a stream belongs to (what the operator trusts), or undefined when it is no channel stream. */
export const channelOfStream = (stream: string): Channel | undefined => channelAfter(channelStreamPrefix, stream);

/** The channel of an ACL user name, or undefined when it is no channel user. */
export const channelOfUser = (user: string): Channel | undefined => channelAfter(channelUserPrefix, user);

/** A server URL (the operator's) with the channel's user and password instead of its own (host, port, TLS, db kept). */
export function channelRedisUrl(operatorUrl: string, channel: Channel, password: string): string {
  const url = new URL(operatorUrl);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error('the Redis URL must start with redis:// or rediss://');
  }
  url.username = channelUser(channel); // WHATWG URL percent-encodes the ':'; ioredis decodes it
  url.password = password;
  return url.toString();
}

/** The password of `channel` in a URL the operator wrote, or undefined (absent, another user, no password). */
export function channelPassword(secretUrl: string | undefined, channel: Channel): string | undefined {
  if (!secretUrl) return undefined;
  let url: URL;
  try {
    url = new URL(secretUrl);
  } catch {
    return undefined;
  }
  const password = decodeURIComponent(url.password);
  return decodeURIComponent(url.username) === channelUser(channel) && password.length >= 16 ? password : undefined;
}

/**
 * The ACL SETUSER rules of a channel user, from nothing (`reset`): on, this password (as its SHA-256, so Redis never
 * holds the text), write-only access (`%W~`) to the channel's own stream, and the commands the reporter sends:
 * XADD (MAXLEN trimming is part of it) and PING. AUTH and HELLO need no grant. SELECT only when the URL names a
 * database. No read command, no other key, no pub/sub channel, no admin command.
 */
export function channelAclRules(channel: Channel, password: string, options: { select?: boolean } = {}): string[] {
  if (password.length < 16) throw new Error('a channel password must have at least 16 characters');
  return [
    'reset',
    'on',
    `#${createHash('sha256').update(password, 'utf8').digest('hex')}`,
    `%W~${channelStream(channel)}`,
    'resetchannels',
    '+xadd',
    '+ping',
    ...(options.select ? ['+select'] : []),
  ];
}
