// The order the end-to-end files run in (they run one at a time on the one node): the file whose chart release
// installs the LiveStream CRD first, the releases that install without it (crds.enabled=false) after it. Vitest's
// own order puts slow or failed files first, which a fresh checkout and a warm one see differently; everything else
// keeps that order.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const e2eOrder = [
  'livestream.e2e.test.ts',
  'gateway.e2e.test.ts',
  'without-redis.e2e.test.ts',
  'history.e2e.test.ts',
  'whip.e2e.test.ts',
];

const rank = (file: string): number => {
  const i = e2eOrder.findIndex((name) => file.endsWith(`/test/e2e/${name}`));
  return i === -1 ? e2eOrder.length : i;
};

export class E2eSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: files outside the list keep the base order.
    return sorted.sort((a, b) => rank(a.moduleId) - rank(b.moduleId));
  }
}
