import { EventPartitionsRepository, EventStore, type EventPartition, type EventRow } from '@evt/db';
import { createTestEnv, type TestEnv } from '@evt/testing';
import { runCaptured } from './run-captured';

const DAY_MS = 86_400_000;

function eventRow(messageId: string, receivedAt: Date): EventRow {
  return {
    workspaceId: 'ws-1',
    sourceId: 'src-1',
    messageId,
    type: 'track',
    userId: 'u-1',
    anonymousId: null,
    rudderId: null,
    event: 'Order Completed',
    name: null,
    receivedAt: receivedAt.toISOString(),
    sentAt: null,
    originalTimestamp: null,
    timestamp: null,
    requestIp: null,
    payload: { messageId },
  };
}

// Retention: whole partitions of events are dropped, never rows deleted one by one.
describe('evt events partitions | prune (real Postgres)', () => {
  let env: TestEnv;
  let vars: Record<string, string>;
  let partitions: EventPartitionsRepository;
  const now = Date.now();

  beforeAll(async () => {
    env = await createTestEnv('cli-events');
    vars = { DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, QUEUE_PREFIX: env.queuePrefix };
    partitions = new EventPartitionsRepository(env.db);
    // A database partitioned for most of a year: its cut-over partition is gone already, and the
    // workers made a partition a month from 200 days ago on.
    await env.db.query('DROP TABLE events_legacy');
    await partitions.maintain({ interval: 'month', ahead: 8, dedupWindowDays: 30, now: new Date(now - 200 * DAY_MS) });
    await partitions.maintain({ interval: 'month', ahead: 1, dedupWindowDays: 30 });
    const ages = { 'days-150': 150, 'days-100': 100, 'days-10': 10, now: 0 };
    await new EventStore(env.db).transaction((uow) =>
      uow.events.insert(Object.entries(ages).map(([messageId, days]) => eventRow(messageId, new Date(now - days * DAY_MS)))),
    );
    await env.db.query('ANALYZE events');
  });
  afterAll(() => env.close());

  const cli = (...argv: string[]) => runCaptured(argv, vars);

  const storedIds = async () => (await env.db.query<{ message_id: string }>('SELECT message_id FROM events ORDER BY received_at')).map((row) => row.message_id);
  const endingBefore = (list: EventPartition[], ms: number) => list.filter((p) => p.to !== null && Date.parse(p.to) <= ms);

  it('lists the partitions with their ranges and estimated rows', async () => {
    const list = await partitions.list();
    expect(list.length).toBeGreaterThanOrEqual(10);
    expect(list.at(-1)).toEqual({ name: 'events_default', isDefault: true, from: null, to: null, rowsEstimate: 0 });
    expect(JSON.parse((await cli('events', 'partitions', '--json')).stdout)).toEqual(list);
    const text = (await cli('events', 'partitions')).stdout.split('\n');
    expect(text[0]).toMatch(/^name\s+from\s+to\s+rowsEstimate$/);
    expect(text[1]).toMatch(new RegExp(`^${list[0].name}\\s+${list[0].from}\\s+${list[0].to}\\s+0$`));
    expect(text).toContainEqual(expect.stringMatching(/^events_default\s+\(default: rows no range covers\)\s+0$/));
  });

  it('prunes with --dry-run: says what it would drop, drops nothing', async () => {
    const list = await partitions.list();
    const old = endingBefore(list, now - 90 * DAY_MS);
    expect(old.length).toBeGreaterThanOrEqual(3);
    const dry = await cli('events', 'prune', '--older-than', '90d', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout);
    expect(report).toEqual({ dryRun: true, before: expect.any(String), dropped: old });
    expect(Date.parse(report.before)).toBeGreaterThanOrEqual(now - 90 * DAY_MS);
    expect(await partitions.list()).toEqual(list);
    expect(await storedIds()).toEqual(['days-150', 'days-100', 'days-10', 'now']);
  });

  it('prunes the partitions older than the age, whole, with their rows; keeps the newer ones and theirs', async () => {
    const list = await partitions.list();
    const old = endingBefore(list, now - 90 * DAY_MS);
    const pruned = await cli('events', 'prune', '--older-than', '90d', '--yes');
    expect(pruned.code).toBe(0);
    const lines = pruned.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^name\s+from\s+to\s+rowsEstimate$/);
    expect(lines.slice(1, -1).map((line) => line.split(/\s+/)[0])).toEqual(old.map((p) => p.name));
    // The events of 150 and 100 days ago were in them; an estimate, exact here after ANALYZE.
    expect(lines.at(-1)).toMatch(new RegExp(`^dropped ${old.length} partitions of events ending at or before \\S+ \\(about 2 rows\\)$`));
    expect(await partitions.list()).toEqual(list.filter((p) => !old.includes(p)));
    expect(await storedIds()).toEqual(['days-10', 'now']);

    // Nothing more to drop; the default partition is never dropped, however old the age.
    expect(await cli('events', 'prune', '--older-than', '90d', '--yes', '--json')).toMatchObject({ code: 0, stdout: expect.stringContaining('"dropped":[]') });
    expect((await partitions.list()).map((p) => p.name)).toContain('events_default');
  });

  it('takes the age in days or hours, and refuses anything else with exit code 2', async () => {
    expect(await cli('events', 'prune', '--older-than', '2160h', '--dry-run')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^would drop 0 partitions of events ending at or before \S+ \(about 0 rows\)\n$/),
    });
    for (const age of ['90', '0d', '1w', '3 d']) {
      expect(await cli('events', 'prune', '--older-than', age, '--yes')).toEqual({
        code: 2,
        stdout: '',
        stderr: `error: option '--older-than <age>' argument '${age}' is invalid. --older-than takes an age such as 90d or 36h (days or hours, above 0)\n`,
      });
    }
    expect(await cli('events', 'prune')).toEqual({ code: 2, stdout: '', stderr: "error: required option '--older-than <age>' not specified\n" });
    expect(await cli('events', 'drop')).toEqual({ code: 2, stdout: '', stderr: "error: unknown command 'drop'\n" });
  });
});
