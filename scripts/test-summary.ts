// Prints the plain closing line CI reads ("N passed, N failed, N skipped") from Vitest's JSON report.
import { readFileSync } from 'node:fs';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { status: string; assertionResults: { status: string }[] }[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: test-summary.ts REPORT.json');
let report: VitestJson;
try {
  report = JSON.parse(readFileSync(file, 'utf8')) as VitestJson;
} catch (err) {
  process.stdout.write('0 passed, 1 failed\n');
  process.stderr.write(`no test report at ${file}: ${(err as Error).message}\n`);
  process.exit(1);
}
// A file that failed to load (or in a hook) has no failed test of its own: count it so it cannot hide.
const brokenFiles = report.testResults.filter(
  (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
).length;
const failed = report.numFailedTests + brokenFiles;
const skipped = report.numPendingTests + report.numTodoTests;
process.stdout.write(`${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
