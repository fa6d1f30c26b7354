/**
 * Everything every tokenwatch Lambda shares, in one place: Node.js 24 on arm64, ESM bundles
 * with the AWS SDK inside (minified, with source maps), an explicit log group and tracing.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { bundlingOptions } from './bundling';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const functionsDirectory = fileURLToPath(new URL('../functions/', import.meta.url));

export interface TokenwatchFunctionProps {
  /** The file in `functions/` without its extension, e.g. `check-expired-tokens`. */
  readonly entry: string;
  readonly description: string;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Added to the variables every function gets; never overwritten by them. */
  readonly environment?: Record<string, string>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.DESTROY — logs go with the stack; data does not. */
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly reservedConcurrentExecutions?: number;
}

export class TokenwatchFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: TokenwatchFunctionProps) {
    const entry = `${functionsDirectory}${props.entry}.ts`;
    if (!existsSync(entry)) throw new Error(`No function entry at ${entry}`);
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      // ESM, node24, minified with source maps, the AWS SDK inside: see lib/bundling.ts.
      bundling: bundlingOptions,
    });
    this.acknowledgeBaselineFindings();
  }

  /**
   * The two findings every function's role carries, acknowledged for exactly those findings
   * on that role, never for the rule as a whole.
   */
  private acknowledgeBaselineFindings(): void {
    if (!this.role) return;
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'AWSLambdaBasicExecutionRole allows only creating log streams and putting log events; the function writes to its own explicit log group.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which supports no resource-level permissions; every data permission names its resource.',
    });
  }
}
