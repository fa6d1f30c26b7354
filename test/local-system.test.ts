/**
 * The local system as `npm start` runs it (in process, so its logs can be read): what its HTTP
 * server makes of requests no browser sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { startLocalSystem, type LocalSystem } from '../local/system';
import { freePort } from './support/services';

let system: LocalSystem;
let apiPort: number;

beforeAll(async () => {
  apiPort = await freePort();
  system = await startLocalSystem({
    apiPort,
    sesPort: await freePort(),
    checkIntervalMs: 0,
    runCheckAtStart: false,
  });
}, 60_000);
afterAll(async () => {
  await system.stop();
});

/** Sends `head` as it is, byte for byte, and reads the answer until the server closes. */
function rawRequest(head: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(apiPort, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [headers = '', body = ''] = text.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]),
        contentType: /^content-type: *(.*)$/im.exec(headers)?.[1] ?? '',
        // The body may come in chunks: the JSON is what lies between its braces.
        body: body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1),
      });
    });
    socket.write(`${head}Connection: close\r\n\r\n`);
  });
}

describe('a request whose Host header is no host', () => {
  it.each([
    ['a space in the name', 'GET /me/instagram-accounts HTTP/1.1\r\nHost: exa mple\r\n'],
    ['an unclosed IPv6 bracket', 'GET /me/instagram-accounts HTTP/1.1\r\nHost: [::1\r\n'],
    ['a local endpoint', 'GET /_local/token?sub=u HTTP/1.1\r\nHost: exa mple\r\n'],
    ['the settings page', 'GET / HTTP/1.1\r\nHost: [::1\r\n'],
  ])('is a 400 problem, like any bad request: %s', async (_name, head) => {
    const answer = await rawRequest(head);
    expect(answer.status).toBe(400);
    expect(answer.contentType).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The Host header or the request target is not valid.',
    });
  });

  it('while a good one reaches the routes', async () => {
    const answer = await rawRequest(
      `GET /me/instagram-accounts HTTP/1.1\r\nHost: localhost:${apiPort}\r\n`,
    );
    expect(answer.status).toBe(401);
  });
});
