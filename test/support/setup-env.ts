/**
 * Runs in every test worker before its files: points the SDK's standard endpoint settings at
 * the local services, exactly as the local stack does, so handlers need no special case.
 */
import { inject } from 'vitest';

process.env.AWS_ENDPOINT_URL_DYNAMODB = inject('dynamoEndpoint');
process.env.AWS_ENDPOINT_URL_SESV2 = inject('sesEndpoint');
process.env.AWS_REGION = 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
// Nothing in a test may reach a real AWS service by accident.
process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
