// Prints the plain closing line CI reads ("N passed, N failed, N skipped") from one or more Vitest JSON reports
// (`make test` and `make e2e` each write one; `.ci/run` sums both).
import { readFileSync } from 'node:fs';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { status: string; assertionResults: { status: string }[] }[];
}

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: test-summary.ts REPORT.json...');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of files) {
  let report: VitestJson;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as VitestJson;
  } catch (err) {
    // A tier that wrote no report did not run to the end: that is a failure, not nothing.
    failed++;
    process.stderr.write(`no test report at ${file}: ${(err as Error).message}\n`);
    continue;
  }
  // A file that failed to load (or in a hook) has no failed test of its own: count it so it cannot hide.
  const brokenFiles = report.testResults.filter(
    (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
  ).length;
  passed += report.numPassedTests;
  failed += report.numFailedTests + brokenFiles;
  skipped += report.numPendingTests + report.numTodoTests;
}
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 ? 1 : 0);
