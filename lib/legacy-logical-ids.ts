/**
 * Logical ids from before a construct moved. CloudFormation replaces a resource whose logical id
 * changes: for the alarm topic that means a new email subscription nobody has confirmed (alarms
 * go nowhere until an operator clicks the link again), and for the alarms a lost history. So the
 * resources that moved into lib/alarms.ts keep the ids they had under the expiry check and the
 * notifications, computed the way CDK computes them from a construct path.
 */
import { createHash } from 'node:crypto';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * CDK's own rule (aws-cdk-lib `makeUniqueId`): the path's components without `Default`, as
 * letters and digits without repeats or `Resource`, then the first 8 hex digits of the MD5 of
 * the path, upper case.
 */
export function logicalIdOf(path: readonly string[]): string {
  const components = path.filter((component) => component !== 'Default');
  const hash = createHash('md5')
    .update(components.join('/'))
    .digest('hex')
    .slice(0, 8)
    .toUpperCase();
  const human = components
    .filter((component, i) => component !== components[i - 1] && component !== 'Resource')
    .map((component) => component.replace(/[^A-Za-z0-9]/g, ''))
    .join('')
    .slice(0, 240);
  return human + hash;
}

/** Gives `construct`'s CloudFormation resource the id it had at `legacyPath` (from the stack). */
export function keepLogicalId(construct: IConstruct, legacyPath: readonly string[]): void {
  (construct.node.defaultChild as CfnElement).overrideLogicalId(logicalIdOf(legacyPath));
}
