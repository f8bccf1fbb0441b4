import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBench } from './bench';
import type { BenchOptions } from './types';
import { renderTable } from './report';

// `nx run bench:run [-- --scenarios a,b,c,d --seconds 10 --connections 50,256 …]`; `--scenarios e` sends one 100 MB audience list;
// `--scenarios c --prefill-events 0,5000000,20000000` runs (c) as `events` grows; `--scenarios f --overload-seconds 300` overloads the gateway with a backlog limit (`--overload-seconds 40` for a quick look);
// `--scenarios g` compares 1 and 2 gateway processes, then 1 and 2 events workers draining the same backlog
const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'a,b,c,d' },
    connections: { type: 'string', default: '50,256' },
    seconds: { type: 'string', default: '10' },
    'e2e-seconds': { type: 'string', default: '60' },
    'e2e-connections': { type: 'string', default: '16' },
    'prefill-events': { type: 'string', default: '0' },
    'memory-connections': { type: 'string', default: '1000' },
    'memory-body-mb': { type: 'string', default: '4' },
    'memory-seconds': { type: 'string', default: '10' },
    'gateway-processes': { type: 'string', default: '1' },
    'audience-list-mb': { type: 'string', default: '100' },
    'overload-seconds': { type: 'string', default: '300' },
    'overload-backlog': { type: 'string', default: '200000' },
    'overload-connections': { type: 'string', default: '16' },
    'overload-grace-seconds': { type: 'string', default: '120' },
    'sdk-events-per-second': { type: 'string', default: '200' },
    out: { type: 'string', default: 'bench-results' },
  },
});

const options: BenchOptions = {
  scenarios: (values.scenarios as string).split(',').map((s) => s.trim()) as BenchOptions['scenarios'],
  connections: (values.connections as string).split(',').map(Number),
  seconds: Number(values.seconds),
  e2eSeconds: Number(values['e2e-seconds']),
  e2eConnections: Number(values['e2e-connections']),
  prefillEvents: (values['prefill-events'] as string).split(',').map(Number),
  memoryConnections: Number(values['memory-connections']),
  memoryBodyBytes: Number(values['memory-body-mb']) * 1024 * 1024,
  memorySeconds: Number(values['memory-seconds']),
  gatewayProcesses: Number(values['gateway-processes']),
  audienceListBytes: Number(values['audience-list-mb']) * 1024 * 1024,
  overloadSeconds: Number(values['overload-seconds']),
  overloadBacklog: Number(values['overload-backlog']),
  overloadConnections: Number(values['overload-connections']),
  overloadGraceSeconds: Number(values['overload-grace-seconds']),
  sdkEventsPerSecond: Number(values['sdk-events-per-second']),
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
