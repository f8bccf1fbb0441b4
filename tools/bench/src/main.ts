import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBench, type BenchOptions } from './bench';
import { renderTable } from './report';

// `nx run bench:run [-- --scenarios a,b,c,d --seconds 10 --connections 50 …]`; `--scenarios e` sends one 100 MB audience list
const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'a,b,c,d' },
    connections: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    'e2e-seconds': { type: 'string', default: '60' },
    'e2e-connections': { type: 'string', default: '16' },
    'memory-connections': { type: 'string', default: '1000' },
    'memory-body-mb': { type: 'string', default: '4' },
    'memory-seconds': { type: 'string', default: '10' },
    'gateway-processes': { type: 'string', default: '1' },
    'audience-list-mb': { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench-results' },
  },
});

const options: BenchOptions = {
  scenarios: (values.scenarios as string).split(',').map((s) => s.trim()) as BenchOptions['scenarios'],
  connections: Number(values.connections),
  seconds: Number(values.seconds),
  e2eSeconds: Number(values['e2e-seconds']),
  e2eConnections: Number(values['e2e-connections']),
  memoryConnections: Number(values['memory-connections']),
  memoryBodyBytes: Number(values['memory-body-mb']) * 1024 * 1024,
  memorySeconds: Number(values['memory-seconds']),
  gatewayProcesses: Number(values['gateway-processes']),
  audienceListBytes: Number(values['audience-list-mb']) * 1024 * 1024,
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  log: (line) => console.log(line),
};

runBench(options)
  .then((report) => {
    const table = renderTable(report);
    console.log(`\n${table}\n`);
    mkdirSync(values.out as string, { recursive: true });
    const file = path.join(values.out as string, `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2));
    console.log(`written: ${file}`);
  })
  .catch((error: Error) => {
    console.error(`bench failed: ${error.stack ?? error.message}`);
    process.exit(1);
  });
