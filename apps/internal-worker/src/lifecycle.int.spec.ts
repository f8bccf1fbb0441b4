import { AppProcess, createTestEnv, sleep, type TestEnv } from '@evt/testing';

// SIGTERM is a graceful stop whenever it comes once the process runs, start-up included: it closes
// what it has started and exits 0, never killed by the signal with jobs half-done. (Before its code
// runs at all, while Node loads the bundle, the signal's default applies: nothing has started.)
describe('internal-worker stopped while starting', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv('lifecycle-internal-worker');
  });
  afterAll(() => env.close());

  it.each([0, 20, 100])('exits 0 on a SIGTERM %i ms after it logged that it is starting', async (delayMs) => {
    const worker = AppProcess.start('internal-worker', 'dist/apps/internal-worker/main.js', env.processEnv({ MIGRATE_ON_START: 'false', LOG_LEVEL: 'info' }));
    await worker.waitForOutput(/internal worker starting/, 30_000);
    await sleep(delayMs);
    const status = await worker.stop();
    // The output rides along so that a failure shows what the process said.
    expect({ status, stopped: worker.output().includes('"msg":"stopped"'), output: status.code === 0 ? '' : worker.output() }).toEqual({
      status: { code: 0, signal: null },
      stopped: true,
      output: '',
    });
  });
});
