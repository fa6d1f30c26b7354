/** Reading the synthesized template: a resource's logical id, and what a function may do. */
import { expect } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';

export type Resources = Record<string, { Properties: Record<string, unknown> }>;

/** The logical id of the one resource of `type` with these properties. */
export function logicalIdOf(template: Template, type: string, properties: Record<string, unknown>) {
  const found = Object.keys(template.findResources(type, { Properties: properties }));
  expect(found).toHaveLength(1);
  return found[0] as string;
}

/** Every statement of the inline policies on a function's role, resources as JSON. */
export function statementsOf(template: Template, functionId: string) {
  const fn = template.findResources('AWS::Lambda::Function')[functionId] as {
    Properties: { Role: { 'Fn::GetAtt': [string, string] } };
  };
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy') as Resources).filter(
    (policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
  );
  return policies.flatMap(
    (policy) =>
      (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
  );
}

/** Statements as their sorted actions and their resource, as JSON. */
export const actionsOn = (statements: Record<string, unknown>[]) =>
  statements.map((statement) => ({
    actions: [statement.Action].flat().sort(),
    resource: JSON.stringify(statement.Resource),
  }));
