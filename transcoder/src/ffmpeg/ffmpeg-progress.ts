// Parser for ffmpeg's `-progress pipe:1` output: blocks of key=value lines, each ending with `progress=continue|end`.
// Only what the callers need: bytes written to the output and the media time reached.

export interface ProgressReport {
  totalSize: number; // bytes written to the output so far
  outTimeUs: number; // media time of the output, microseconds
  end: boolean;
}

export class ProgressParser {
  private partial = '';
  private current: Partial<Record<string, string>> = {};

  // Feeds a chunk of stdout; returns the blocks it completed.
  push(chunk: string): ProgressReport[] {
    const reports: ProgressReport[] = [];
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).trim();
      if (key !== 'progress') {
        this.current[key] = value;
        continue;
      }
      reports.push({
        totalSize: toNumber(this.current.total_size),
        outTimeUs: toNumber(this.current.out_time_us),
        end: value === 'end',
      });
      this.current = {};
    }
    return reports;
  }
}

function toNumber(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : 0; // "N/A" and negative start times count as nothing yet
}
