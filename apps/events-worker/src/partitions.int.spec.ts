import { EventPartitionsRepository } from '@evt/db';
import { AppProcess, createTestEnv, type TestEnv } from '@evt/testing';

const DAY_MS = 86_400_000;
const dayName = (ms: number) => `events_${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '_')}`;

// The partitions of events are made by the events workers, not by hand: at start-up (then hourly),
// by one worker at a time however many start together.
describe('events workers keeping the partitions of events', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv('partitions-events-worker');
  });
  afterAll(() => env.close());

  it('create today’s partition and the next ones at start-up, two workers at once, without an error', async () => {
    const settings = { EVENTS_PARTITION_INTERVAL: 'day', EVENTS_PARTITIONS_AHEAD: '2', LOG_LEVEL: 'info' };
    const workers = [1, 2].map(() => AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', env.processEnv(settings)));
    try {
      await Promise.all(workers.map((worker) => worker.waitForOutput(/events worker started/, 30_000)));
      await workers[0].waitForOutput(/events partitions maintained/, 10_000).catch(() => workers[1].waitForOutput(/events partitions maintained/, 10_000));
      const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
      const partitions = await new EventPartitionsRepository(env.db).list();
      // Today's partition begins where events_legacy (the cut-over of the migration) ends.
      expect(partitions.map(({ name, to }) => ({ name, to }))).toEqual([
        { name: 'events_legacy', to: partitions[0].to },
        { name: dayName(today), to: new Date(today + DAY_MS).toISOString() },
        { name: dayName(today + DAY_MS), to: new Date(today + 2 * DAY_MS).toISOString() },
        { name: dayName(today + 2 * DAY_MS), to: new Date(today + 3 * DAY_MS).toISOString() },
        { name: 'events_default', to: null },
      ]);
      expect(
        workers
          .map((worker) => worker.output())
          .join('')
          .match(/events partitions maintained/g),
      ).toHaveLength(1);
      expect(workers.map((worker) => worker.output()).join('')).not.toMatch(/maintenance failed/);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  });
});
