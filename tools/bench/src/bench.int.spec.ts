import { runBench } from './bench';

// The instrument must keep working: every scenario, with tiny load. No figure is asserted
// beyond what makes a row meaningful; speed is judged from real runs, not in tests.
describe('tools/bench smoke run', () => {
  it('runs scenarios (a)–(e) with tiny load and reports each against its baseline, losing nothing end to end', async () => {
    const lines: string[] = [];
    const report = await runBench({
      scenarios: ['a', 'b', 'c', 'd', 'e'],
      connections: 2,
      seconds: 1,
      e2eSeconds: 2,
      e2eConnections: 2,
      memoryConnections: 4,
      memoryBodyBytes: 256 * 1024,
      memorySeconds: 1,
      gatewayProcesses: 1,
      audienceListBytes: 1024 * 1024,
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      log: (line) => lines.push(line),
    });
    expect(report.rows.map((row) => row.scenario)).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const row of report.rows) {
      expect(row.baselineValue).toBeGreaterThan(0);
      expect(row.ratio).toBeGreaterThan(0);
    }
    expect(report.rows[0].requestsPerSecond).toBeGreaterThan(0);
    expect(report.rows[1].eventsPerSecond).toBeGreaterThan(0);
    expect(report.rows[3].peakRssBytes).toBeGreaterThan(0);
    expect(report.rows[4]).toMatchObject({ met: true, notes: expect.stringMatching(/^answered 200 in .* (\d+) of \1 members stored/) });
    expect(report.e2e).toMatchObject({ lost: 0, duplicated: 0 });
    expect(report.e2e?.acknowledged).toBeGreaterThan(0);
    expect(report.e2e?.stored).toBe(report.e2e?.acknowledged);
  }, 120_000);
});
