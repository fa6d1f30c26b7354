/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that CI and people can
 * read without knowing vitest's own summary format.
 */
import type { Reporter, TestModule, TestSuite } from 'vitest/node';

/** A file or suite that failed around its tests: a hook, or an error while loading. */
function failedOutsideItsTests(node: TestModule | TestSuite): boolean {
  if (node.state() !== 'failed') return false;
  for (const test of node.children.allTests()) {
    if (test.result().state === 'failed') return false;
  }
  return true;
}

export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      // A failed beforeAll skips every test of its suite, and a file that does not load has no
      // tests at all: neither may end the run with "0 failed".
      const failedSuites = [...module.children.allSuites()].filter(failedOutsideItsTests);
      if (failedSuites.length > 0) counts.failed += failedSuites.length;
      else if (failedOutsideItsTests(module)) counts.failed += 1;
    }
    process.stdout.write(
      `\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
