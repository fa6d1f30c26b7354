import type { TestProject } from 'vitest/node';
import { startLocalServices } from './services';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sesEndpoint: string;
  }
}

/** Once per `vitest run`: one DynamoDB Local and one SES emulator shared by every test file. */
export default async function setup(project: TestProject) {
  const services = await startLocalServices();
  project.provide('dynamoEndpoint', services.dynamoEndpoint);
  project.provide('sesEndpoint', services.sesEndpoint);
  return async () => {
    await services.stop();
  };
}
