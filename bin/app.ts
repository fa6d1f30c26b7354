#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readStackConfig } from '../lib/config';
import { TokenwatchStack } from '../lib/tokenwatch-stack';

const app = new App();
const config = readStackConfig(app.node);
new TokenwatchStack(app, `Tokenwatch-${config.stage}`, {
  config,
  description: `tokenwatch (${config.stage}): tells owners and developers when an Instagram token expires`,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// The same checks the tests run: a synth with an unacknowledged finding fails here too.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
