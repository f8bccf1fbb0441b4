import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDbClient, dropDatabase } from '@evt/db';
import { AppProcess, basicAuth, freePort, processAlive, waitFor, withProcessOutput } from '@evt/testing';

// `npm start` (tools/dev-services/src/start.mjs, then the runner) on a machine whose Redis is not
// running: a private one is started for the apps and stopped after them.
describe('npm start without a Redis answering', () => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/evt_test_start_${randomUUID().slice(0, 8)}`;
  const databaseUrl = url.toString().replace(/\/$/, '');
  const root = mkdtempSync(path.join(tmpdir(), 'evt-start-'));
  let start: AppProcess;

  afterAll(async () => {
    await start?.stop();
    try {
      const pid = Number(readFileSync(path.join(root, 'redis/redis.pid'), 'utf8'));
      if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // never started
    }
    rmSync(root, { recursive: true, force: true });
    await dropDatabase(databaseUrl);
  });

  it(
    'says it started a private Redis, the gateway is ready on it and takes an event, and a stop (SIGTERM) ends the apps, then Redis',
    withProcessOutput(
      () => [start],
      async () => {
        chmodSync(root, 0o755);
        const port = await freePort();
        const redisPort = await freePort();
        start = AppProcess.start('npm start', 'tools/dev-services/src/start.mjs', {
          ...(process.env as Record<string, string>),
          PORT: String(port),
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
          DATABASE_URL: databaseUrl,
          EVT_DATA_DIR: root,
          QUEUE_PREFIX: `evt-test-start-${randomUUID().slice(0, 8)}`,
          LOG_LEVEL: 'warn',
        });
        await start.waitForOutput(/write key: (\w+)/, 30_000);
        expect(start.output().split('\n')[0]).toBe(
          `[runner] no Redis at redis://127.0.0.1:${redisPort}: started a private one on port ${redisPort}, data in ${root}/redis`,
        );
        const ready = await waitFor(
          async () => {
            const answer = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
            return answer?.status === 200 ? answer.json() : undefined;
          },
          20_000,
          'the gateway to be ready',
        );
        expect(ready).toMatchObject({ status: 'ok', redis: 'up', postgres: 'up' });

        const writeKey = /write key: (\w+)/.exec(start.output())?.[1] ?? '';
        const answer = await fetch(`http://127.0.0.1:${port}/v1/track`, {
          method: 'POST',
          headers: { Authorization: basicAuth(writeKey), 'Content-Type': 'application/json' },
          body: JSON.stringify({ userId: 'u1', event: 'Through The Private Redis', messageId: 'start-1' }),
        });
        expect([answer.status, await answer.text()]).toEqual([200, 'OK']);
        const db = createDbClient(databaseUrl, { max: 1 });
        try {
          const rows = await waitFor(
            async () => {
              const found = await db.query('SELECT message_id, event FROM events');
              return found.length > 0 ? found : undefined;
            },
            10_000,
            'the event',
          );
          expect(rows).toEqual([{ message_id: 'start-1', event: 'Through The Private Redis' }]);
        } finally {
          await db.close();
        }

        const redisPid = Number(readFileSync(path.join(root, 'redis/redis.pid'), 'utf8'));
        expect(await start.stop()).toEqual({ code: 0, signal: null });
        expect(start.output()).toContain(`[runner] stopped the private Redis; its data stays in ${root}\n`);
        expect(processAlive(redisPid)).toBe(false);
      },
    ),
  );
});
