// One publisher per channel per gateway replica, whatever the protocol: an RTMP session and a WHIP session claim the
// channel here before they are answered, so a second publisher is refused up front (RTMP `busy`, WHIP 409) instead
// of being found out by the transcoder after the answer.
export class ChannelClaims {
  private readonly holders = new Map<string, object>();
  private readonly onChange: ((size: number) => void) | undefined;

  constructor(onChange?: (size: number) => void) {
    this.onChange = onChange;
  }

  /** true: `holder` has the channel now; false: someone else has it. */
  claim(channel: string, holder: object): boolean {
    const current = this.holders.get(channel);
    if (current !== undefined) return current === holder;
    this.holders.set(channel, holder);
    this.onChange?.(this.holders.size);
    return true;
  }

  /** Lets the channel go if `holder` has it (a late release of an older holder changes nothing). */
  release(channel: string, holder: object): void {
    if (this.holders.get(channel) !== holder) return;
    this.holders.delete(channel);
    this.onChange?.(this.holders.size);
  }

  has(channel: string): boolean {
    return this.holders.has(channel);
  }

  get size(): number {
    return this.holders.size;
  }

  channels(): string[] {
    return [...this.holders.keys()];
  }
}
