/**
 * Deployment configuration, from CDK context (`cdk.json`, or `-c key=value`), validated once.
 * Every setting has a documented default so `cdk synth` works with none given.
 */
import type { Node } from 'constructs';
import { z } from 'zod';

const contextBoolean = z.union([
  z.boolean(),
  z.enum(['true', 'false']).transform((v) => v === 'true'),
]);

export const stackConfigSchema = z.object({
  /** @default 'dev' — part of the stack name, so two stages can live in one account. */
  stage: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,20}$/)
    .default('dev'),
  /** @default true — keep the table (and its tokens) when the stack is deleted. */
  retainData: contextBoolean.default(true),
  /** @default 30 — days of Lambda and API access logs. */
  logRetentionDays: z.coerce.number().int().positive().default(30),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;

export function readStackConfig(node: Node): StackConfig {
  const raw = Object.fromEntries(
    Object.keys(stackConfigSchema.shape).map((key) => [key, node.tryGetContext(key) as unknown]),
  );
  const result = stackConfigSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)),
  );
  if (!result.success) {
    throw new Error(
      `Invalid CDK context: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return result.data;
}
