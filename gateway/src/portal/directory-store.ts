// What this replica holds of the portal directory (contract/src/portal-directory.ts): every channel's listing as the
// operator last pushed it, and which update it continues from. An update is applied whole or not at all
// (acceptsUpdate); listeners hear of each applied one with the channels it touched, so pages update in place.
import {
  acceptsUpdate,
  type ChannelListing,
  type DirectoryAnswer,
  type DirectoryUpdate,
} from '../../../contract/src/portal-directory.ts';
import { channelId } from '../../../contract/src/route-table.ts';

export interface DirectoryChange {
  /** The ids (channelId) of the channels upserted or deleted; a reset touches every channel held before or after. */
  touched: Set<string>;
  reset: boolean;
}

export type DirectoryListener = (change: DirectoryChange) => void;

export interface ApplyResult {
  accepted: boolean;
  /** What the replica holds after the call (as before it when refused). */
  held: Pick<DirectoryAnswer, 'generation' | 'sequence'>;
}

export class DirectoryStore {
  readonly #listings = new Map<string, ChannelListing>();
  readonly #listeners = new Set<DirectoryListener>();
  // Nothing held yet: only a reset continues from here (a generation is never empty).
  #held = { generation: '', sequence: 0 };

  held(): Pick<DirectoryAnswer, 'generation' | 'sequence'> {
    return { ...this.#held };
  }

  get(namespace: string, name: string): ChannelListing | undefined {
    return this.#listings.get(channelId(namespace, name));
  }

  list(): ChannelListing[] {
    return [...this.#listings.values()];
  }

  apply(update: DirectoryUpdate): ApplyResult {
    if (!acceptsUpdate(this.#held, update)) return { accepted: false, held: this.held() };
    const touched = new Set<string>();
    if (update.reset) {
      for (const id of this.#listings.keys()) touched.add(id);
      this.#listings.clear();
    }
    for (const ref of update.deletes) {
      const id = channelId(ref.namespace, ref.name);
      if (this.#listings.delete(id)) touched.add(id);
    }
    for (const listing of update.upserts) {
      const id = channelId(listing.namespace, listing.name);
      this.#listings.set(id, listing);
      touched.add(id);
    }
    this.#held = { generation: update.generation, sequence: update.sequence };
    const change = { touched, reset: update.reset };
    for (const listener of this.#listeners) listener(change);
    return { accepted: true, held: this.held() };
  }

  /** Calls `listener` after each applied update; returns the function that stops it. */
  onChange(listener: DirectoryListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
