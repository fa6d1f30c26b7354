import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { readStackConfig } from '../../lib/config';
import { TokenwatchStack } from '../../lib/tokenwatch-stack';

/** The context `cdk deploy` uses (feature flags included), so tests see the same template. */
const deployedContext = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/**
 * Synthesizes the real stack. Bundling is skipped: these tests are about the resources, and
 * the bundles themselves are measured by the benchmark and built by `cdk synth`.
 */
export function synthesize(context: Record<string, unknown> = {}) {
  const app = new App({
    context: { ...deployedContext, 'aws:cdk:bundling-stacks': [], ...context },
  });
  const stack = new TokenwatchStack(app, 'TokenwatchTest', { config: readStackConfig(app.node) });
  return { app, stack, template: Template.fromStack(stack) };
}

/** cdk-nag's AwsSolutions findings (errors and warnings) nobody acknowledged, as readable lines. */
export function unacknowledgedNagFindings(scope: IConstruct): string[] {
  if (scope instanceof Stack) Template.fromStack(scope);
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) =>
        `${violation.ruleName} (${String(violation.severity)}) at ${resource.constructPath ?? resource.resourceLogicalId}: ${violation.description}`,
    ),
  );
}
