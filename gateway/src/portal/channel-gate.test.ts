import { describe, expect, it } from 'vitest';
import type { Visibility } from '../../../contract/src/route-table.ts';
import { lockedStatus, visibleStatus } from './channel-gate.ts';
import type { ChannelStatus } from './directory-view.ts';
import { renderStreamPage } from './pages.ts';

const status: ChannelStatus = {
  phase: 'scheduled',
  state: 'Idle',
  title: 'Quarterly <results>',
  viewers: 12,
  scheduledStart: '2026-12-02T13:00:00Z',
  lastEndedAt: '2026-12-01T10:00:00Z',
  descriptionHtml: '<p>The plan</p>',
};

describe('what a stream page shows', () => {
  it.each<[Visibility, boolean]>([
    ['public', false],
    ['unlisted', false],
    ['private', true],
    ['password', true],
  ])('%s: locked without a session (%s), in full with one', (visibility, gated) => {
    expect(visibleStatus(visibility, status, false)).toEqual(gated ? lockedStatus(visibility as 'private') : status);
    expect(visibleStatus(visibility, status, true)).toEqual(status);
  });

  it.each(['private', 'password'] as const)('a locked %s page holds nothing of the channel', (visibility) => {
    const html = renderStreamPage(visibility, lockedStatus(visibility));
    for (const leak of ['Quarterly', 'results', 'plan', '12', '2026', 'Starts at', 'scheduled', 'Idle'])
      expect(html).not.toContain(leak);
    expect(html).toContain(
      `<h1 id="title">${visibility === 'private' ? 'Private stream' : 'Password-protected stream'}`,
    );
    expect(html).toMatch(/<span id="viewers" hidden><\/span>/);
    expect(html).toMatch(/<p id="notice" class="notice" role="status" hidden>/);
  });

  it('an open page shows its title escaped, its notice, viewers and description', () => {
    const html = renderStreamPage('unlisted', status);
    expect(html).toContain('<h1 id="title">Quarterly &lt;results&gt;</h1>');
    expect(html).toContain('Starts at 2026-12-02 13:00 UTC');
    expect(html).toContain('12 viewers');
    expect(html).toContain('<div id="description" class="description"><p>The plan</p></div>');
  });
});
