// What a private or password channel's stream page and events show to a viewer who has not shown access (issue 15):
// that the channel exists and how it is protected, nothing it says about itself (no title, description, viewers,
// state or times). Its details go only to a request carrying a valid session for that channel (session-token.ts:
// short-lived, per channel; the page gets one by POSTing its ?token= or the password to `session`). Pure.
//
// Existence: a gated channel's page answers 200 (it must show its password form, and its link notice) and its
// events 403, where an absent channel answers 404 for both. That was already told apart by its page (200 vs 404)
// and by `master.m3u8` (403 vs 404) before this gate, so the gate reveals nothing new; a page that answered 404 for
// a private channel could not show a password form.
import type { Visibility } from '../../../contract/src/route-table.ts';
import type { ChannelStatus } from './directory-view.ts';

export type GatedVisibility = 'private' | 'password';

export function isGated(visibility: Visibility): visibility is GatedVisibility {
  return visibility === 'private' || visibility === 'password';
}

/** The whole of what a gated channel shows without a session. */
export interface LockedStatus {
  phase: 'locked';
  visibility: GatedVisibility;
  title: string;
}

/** What a stream page's script is told: the channel's status, or only that it is locked. */
export type PageStatus = ChannelStatus | LockedStatus;

export const lockedTitles: Record<GatedVisibility, string> = {
  private: 'Private stream',
  password: 'Password-protected stream',
};

export function lockedStatus(visibility: GatedVisibility): LockedStatus {
  return { phase: 'locked', visibility, title: lockedTitles[visibility] };
}

/** The status shown for a channel of `visibility`: in full when it is open or the viewer holds a session. */
export function visibleStatus(visibility: Visibility, status: ChannelStatus, hasSession: boolean): PageStatus {
  return isGated(visibility) && !hasSession ? lockedStatus(visibility) : status;
}
