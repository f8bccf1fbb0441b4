import { createLogger } from '@evt/logging';
import { AppProcess, createTestEnv, waitFor, type TestEnv } from '@evt/testing';
import { startGateway, type RunningGateway } from '../gateway';

/** A gateway in this process and a real events worker process, on the test's own database and queues. */
export interface Stack {
  env: TestEnv;
  gateway: RunningGateway;
  worker: AppProcess;
  /** The internal API's worker, when the stack was started with `internalWorker`. */
  internalWorker?: AppProcess;
  url: string;
  /** Rows of a query, polled until `count` rows are there (the worker stores asynchronously). */
  rows<T extends Record<string, unknown>>(query: string, params: unknown[], count: number): Promise<T[]>;
  stop(): Promise<void>;
}

/**
 * `gatewayEnv` applies to the gateway; REDIS_URL in it applies to the worker too. Resolves once the
 * gateway is healthy (Redis connected: a first request would otherwise meet a 503), unless
 * `unhealthy` says its Redis is meant to be unreachable.
 */
export async function startStack(
  name: string,
  gatewayEnv: Record<string, string> = {},
  options: { internalWorker?: boolean; workerEnv?: Record<string, string>; unhealthy?: boolean } = {},
): Promise<Stack> {
  const env = await createTestEnv(name);
  const config = env.config({ PORT: '0', HOST: '127.0.0.1', SOURCE_CONFIG_REFRESH_MS: '100', ...gatewayEnv });
  const gateway = await startGateway(config, createLogger('gateway-test', 'silent'), '0.0.0-test');
  if (!options.unhealthy) {
    await waitFor(
      async () => ((await fetch(`http://127.0.0.1:${gateway.port}/health`)).status === 200 ? true : undefined),
      15_000,
      `the ${name} gateway to be healthy`,
    );
  }
  const workerEnv = env.processEnv({ MIGRATE_ON_START: 'false', ...(gatewayEnv.REDIS_URL ? { REDIS_URL: gatewayEnv.REDIS_URL } : {}), ...options.workerEnv });
  const worker = AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', workerEnv);
  const internalWorker = options.internalWorker ? AppProcess.start('internal-worker', 'dist/apps/internal-worker/main.js', workerEnv) : undefined;
  return {
    env,
    gateway,
    worker,
    internalWorker,
    url: `http://127.0.0.1:${gateway.port}`,
    async rows<T extends Record<string, unknown>>(query: string, params: unknown[], count: number) {
      let last: T[] = [];
      try {
        return await waitFor(
          async () => {
            last = await env.db.query<T>(query, params);
            return last.length >= count ? last : undefined;
          },
          15_000,
          `${count} row(s) of: ${query}`,
        );
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\nlast rows: ${JSON.stringify(last)}\nworker output:\n${worker.output()}\n${internalWorker?.output() ?? ''}`,
        );
      }
    },
    async stop() {
      await gateway.stop();
      await worker.stop();
      await internalWorker?.stop();
      await env.close();
    },
  };
}

/** Answers as the tests compare them: status, body text, and the headers they care about. */
export async function send(url: string, init: RequestInit & { path: string }): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(`${url}${init.path}`, init);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

/** POSTs `body` as JSON (a string is sent as it is: tests send malformed JSON on purpose). */
export function postJson(url: string, path: string, body: unknown, headers: Record<string, string> = {}): ReturnType<typeof send> {
  return send(url, {
    path,
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
