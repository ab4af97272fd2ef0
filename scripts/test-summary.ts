// Prints the plain closing line CI reads ("N passed, N failed, N skipped") from one or more Vitest JSON reports
// (`make test` and `make e2e` each write one; `.ci/run` sums both). Above it, each failed test with the head of its
// failure message: the end of a long log is what a reader sees first, and it should say what failed and why.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { status: string; fullName: string; failureMessages?: string[] }[];
  }[];
}

const relative = (file: string) => path.relative(process.cwd(), file);
/** The first lines of a failure message, without colour codes or stack frames. */
function failureHead(message: string | undefined, maxLines = 4): string {
  return stripVTControlCharacters(message ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s+at /.test(l))
    .slice(0, maxLines)
    .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
    .join('\n    ');
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
  for (const f of report.testResults) {
    for (const a of f.assertionResults.filter((t) => t.status === 'failed')) {
      process.stdout.write(`FAILED ${relative(f.name)} > ${a.fullName}\n    ${failureHead(a.failureMessages?.[0])}\n`);
    }
    if (f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed')) {
      process.stdout.write(`FAILED ${relative(f.name)}\n    ${failureHead(f.message)}\n`);
    }
  }
  passed += report.numPassedTests;
  failed += report.numFailedTests + brokenFiles;
  skipped += report.numPendingTests + report.numTodoTests;
}
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 ? 1 : 0);
