import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '@evt/config';
import { createDbClient, dropDatabase, migrate, type DbClient } from '@evt/db';
import { deleteQueuePrefix } from '@evt/queue';

/** One test file's own database and queue prefix on the shared servers. */
export interface TestEnv {
  redisUrl: string;
  databaseUrl: string;
  queuePrefix: string;
  /** The product's configuration pointed at this environment, with `overrides` applied. */
  config(overrides?: Record<string, string>): Config;
  /** Environment variables for a process of the product started by the test. */
  processEnv(overrides?: Record<string, string>): Record<string, string>;
  db: DbClient;
  /** Drops the database and deletes every Redis key of the prefix. */
  close(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A fresh, migrated database and an unused queue prefix, so test files can run in any order and at once. */
export async function createTestEnv(name: string): Promise<TestEnv> {
  const suffix = randomBytes(4).toString('hex');
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const databaseUrl = withDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', `evt_test_${slug}_${suffix}`);
  const queuePrefix = `evt-test-${slug}-${suffix}`;
  await migrate(databaseUrl);
  const db = createDbClient(databaseUrl, { max: 4, applicationName: `test-${slug}` });
  const vars = (overrides: Record<string, string> = {}) => ({
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  return {
    redisUrl,
    databaseUrl,
    queuePrefix,
    db,
    config: (overrides) => loadConfig(vars(overrides)),
    processEnv: (overrides) => ({ ...(process.env as Record<string, string>), ...vars(overrides) }),
    async close() {
      await db.close();
      await dropDatabase(databaseUrl);
      await deleteQueuePrefix(redisUrl, queuePrefix);
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
