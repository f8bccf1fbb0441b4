import { runBench } from './bench';

// The instrument must keep working: every scenario, with tiny load. No figure is asserted
// beyond what makes a row meaningful; speed is judged from real runs, not in tests.
describe('tools/bench smoke run', () => {
  it('runs scenarios (a)–(g) with tiny load and reports each against its baseline and its CPU, losing nothing end to end', async () => {
    const lines: string[] = [];
    const report = await runBench({
      scenarios: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
      connections: [2],
      seconds: 1,
      e2eSeconds: 2,
      e2eConnections: 2,
      // (c) after growing events by a few rows of another source: the mechanics of the growth runs.
      prefillEvents: [1000],
      memoryConnections: 4,
      memoryBodyBytes: 256 * 1024,
      memorySeconds: 1,
      gatewayProcesses: 1,
      audienceListBytes: 1024 * 1024,
      // (f) only for its mechanics: whether a few seconds overload anything is left to real runs.
      overloadSeconds: 3,
      overloadBacklog: 1000,
      overloadConnections: 2,
      overloadGraceSeconds: 10,
      sdkEventsPerSecond: 20,
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      log: (line) => lines.push(line),
    });
    // (a) twice: durable, and enqueue off (the gateway's HTTP ceiling), each beside node:http.
    expect(report.rows.map((row) => row.scenario)).toEqual(['a', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'g']);
    const [durable, ceiling, batch, , memory, audience, overload, twoGateways, twoWorkers] = report.rows;
    for (const row of report.rows.slice(0, 5)) {
      expect(row.baselineValue).toBeGreaterThan(0);
      expect(row.ratio).toBeGreaterThan(0);
    }
    expect(durable.requestsPerSecond).toBeGreaterThan(0);
    expect(report.eventsTable?.[0].rows).toBeGreaterThanOrEqual(1000);
    expect(report.rows[3].target).toMatch(/events at [\d,]+ rows \(unique index \d+ MB/);
    expect(ceiling.target).toMatch(/enqueue off/);
    expect(batch.eventsPerSecond).toBeGreaterThan(0);
    expect(memory.peakRssBytes).toBeGreaterThan(0);
    expect(audience).toMatchObject({ met: true, notes: expect.stringMatching(/^answered 200 in .* (\d+) of \1 members stored/) });
    // CPU is read for every process measured, and Postgres's counters are read. Whether they have moved
    // is not asserted: a backend publishes its counters up to 10 s late when it is busy for less than a second.
    expect(durable.cost?.cpuSeconds).toMatchObject({ gateway: expect.any(Number), redis: expect.any(Number), loadGenerator: expect.any(Number) });
    expect(durable.baselineCost?.cpuSeconds.baseline).toBeGreaterThan(0);
    const endToEnd = report.rows[3].cost;
    expect(endToEnd?.cpuSeconds.worker).toBeGreaterThan(0);
    expect(endToEnd?.cpuSeconds.postgres).toBeGreaterThan(0);
    expect(endToEnd?.postgresPer10kEvents).toMatchObject({ commits: expect.any(Number), tuplesInserted: expect.any(Number), walMegabytes: expect.any(Number) });
    expect(overload.cost?.cpuSeconds.worker).toBeGreaterThan(0);
    expect(report.overload).toMatchObject({ lost: 0, duplicated: 0 });
    expect(report.overload?.load.acknowledgedEvents).toBeGreaterThan(0);
    expect(report.overload?.sdk.acknowledgedEvents).toBeGreaterThan(0);
    expect(report.overload?.samples.length).toBeGreaterThan(0);
    // (g): two gateway processes and two workers each measured beside one (drainRate throws unless every event was stored).
    for (const row of [twoGateways, twoWorkers]) expect([row.eventsPerSecond ?? 0, row.baselineValue].every((value) => value > 0)).toBe(true);
    expect(twoWorkers.target).toMatch(/2 worker processes/);
    expect(report.e2e).toMatchObject({ lost: 0, duplicated: 0 });
    expect(report.e2e?.acknowledged).toBeGreaterThan(0);
    expect(report.e2e?.stored).toBe(report.e2e?.acknowledged);
  }, 120_000);
});
