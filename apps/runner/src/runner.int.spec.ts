import { randomUUID } from 'node:crypto';
import { createDbClient, dropDatabase } from '@evt/db';
import { AppProcess, basicAuth, freePort, waitFor, waitForHealthy, withProcessOutput } from '@evt/testing';

// `npm start` on a fresh machine: a database that does not exist yet, nothing configured.
describe('npm start (the runner)', () => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/evt_test_runner_${randomUUID().slice(0, 8)}`;
  const databaseUrl = url.toString();
  let runner: AppProcess;

  afterAll(async () => {
    await runner?.stop();
    await dropDatabase(databaseUrl);
  });

  it(
    'creates and migrates the database, makes a dev source, prints its write key and runs gateway and worker until stopped',
    withProcessOutput(
      () => [runner],
      async () => {
        const port = await freePort();
        runner = AppProcess.start('runner', 'dist/apps/runner/main.js', {
          ...(process.env as Record<string, string>),
          PORT: String(port),
          DATABASE_URL: databaseUrl,
          QUEUE_PREFIX: `evt-test-runner-${randomUUID().slice(0, 8)}`,
          LOG_LEVEL: 'warn',
        });
        await runner.waitForOutput(/write key: (\w+)/, 20_000);
        const writeKey = /write key: (\w+)/.exec(runner.output())?.[1] ?? '';
        await waitForHealthy(`http://127.0.0.1:${port}/health`, runner, 20_000);

        const answer = await fetch(`http://127.0.0.1:${port}/v1/track`, {
          method: 'POST',
          headers: { Authorization: basicAuth(writeKey), 'Content-Type': 'application/json' },
          body: JSON.stringify({ userId: 'first-user', event: 'First Event', messageId: 'runner-1' }),
        });
        expect([answer.status, await answer.text()]).toEqual([200, 'OK']);
        const db = createDbClient(databaseUrl, { max: 1 });
        try {
          const rows = await waitFor(
            async () => {
              const found = await db.query('SELECT message_id, user_id, event FROM events');
              return found.length > 0 ? found : undefined;
            },
            10_000,
            'the first event',
          );
          expect(rows).toEqual([{ message_id: 'runner-1', user_id: 'first-user', event: 'First Event' }]);
        } finally {
          await db.close();
        }
        const status = await runner.stop();
        expect(status).toEqual({ code: 0, signal: null });
      },
    ),
  );
});
