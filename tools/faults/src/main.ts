import { parseArgs } from 'node:util';
import { fuzzGateway } from './fuzz';
import { MULTINODE_SCENARIOS } from './multinode';
import { SCENARIOS } from './scenarios';
import type { FaultResult } from './types';

const ALL_SCENARIOS = { ...SCENARIOS, ...MULTINODE_SCENARIOS };

/** A name of the list, or one that stands for several: `multinode` (every multi-node run), `multinode-sentinel` (both ack modes). */
function expand(name: string): string[] {
  if (name in ALL_SCENARIOS) return [name];
  const group = Object.keys(MULTINODE_SCENARIOS).filter((scenario) => scenario.startsWith(`${name}-`));
  if (group.length > 0) return group;
  throw new Error(`unknown scenario ${name}; known: ${Object.keys(ALL_SCENARIOS).join(', ')}, and multinode, multinode-<setup>`);
}

// `nx run faults:run [-- --scenarios gateway-kill9,worker-kill9,poison,multinode-sentinel --seconds 20 --connections 8 --sdk-events-per-second 500 --seed 42]`
// `nx run faults:fuzz [-- --requests 10000 --concurrency 16 --seed 42]`
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: '42' },
    scenarios: { type: 'string', default: Object.keys(ALL_SCENARIOS).join(',') },
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '8' },
    'batch-size': { type: 'string', default: '50' },
    'postgres-outage-seconds': { type: 'string', default: '60' },
    'sdk-events-per-second': { type: 'string', default: '500' },
  },
});

/** `http batch: 503 ×104; sdk …: 503 ×3, refused ×2`. */
function formatRefusals(refusals: FaultResult['refusals']): string {
  const clients = Object.entries(refusals).map(
    ([client, statuses]) =>
      `${client}: ${Object.entries(statuses)
        .map(([status, n]) => `${status} ×${n}`)
        .join(', ')}`,
  );
  return clients.length > 0 ? clients.join('; ') : 'none';
}

async function main(): Promise<void> {
  const results: FaultResult[] = [];
  const names = (values.scenarios as string).split(',').flatMap((name) => expand(name.trim()));
  for (const name of names) {
    const run = ALL_SCENARIOS[name];
    results.push(
      await run({
        seconds: Number(values.seconds),
        postgresOutageSeconds: Number(values['postgres-outage-seconds']),
        connections: Number(values.connections),
        batchSize: Number(values['batch-size']),
        sdkEventsPerSecond: Number(values['sdk-events-per-second']),
        seed: Number(values.seed),
        log: (line) => console.log(line),
      }),
    );
  }
  console.log('\n| scenario | acknowledged | of which by client | stored | lost | duplicated | answers other than 200 | what happened |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    console.log(
      `| ${r.scenario} | ${r.acknowledged} | ${Object.entries(r.byClient)
        .map(([client, n]) => `${client}: ${n}`)
        .join(', ')} | ${r.stored} | ${r.lost} | ${r.duplicated} | ${formatRefusals(r.refusals)} | ${r.notes} |`,
    );
  }
  const poisoned = results.filter((r) => r.hostile);
  if (poisoned.length > 0) {
    console.log(
      '\n| scenario | hostile events sent | stored exactly as sent | its id stored by another event (deduplicated) | in rejected_events with a reason | refused (400) with a reason | unaccounted | seed |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const { scenario, hostile: h } of poisoned)
      if (h) console.log(`| ${scenario} | ${h.sent} | ${h.storedExactly} | ${h.deduplicated} | ${h.rejected} | ${h.refused} | ${h.unaccounted} | ${h.seed} |`);
  }
  const multiNode = results.filter((r) => r.multiNode);
  if (multiNode.length > 0) {
    console.log('\n| setup | REDIS_ACK_REPLICAS | acknowledged | stored | lost | duplicated | 503s retried | failover seconds |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const { multiNode: m, ...r } of multiNode)
      if (m)
        console.log(
          `| ${m.setup}${m.replicaLagMs > 0 ? `, replica stopped ${m.replicaLagMs} ms before the kill` : ''} | ${m.ackReplicas} | ${r.acknowledged} | ${r.stored} | ${r.lost} | ${r.duplicated} | ${m.answers503} (and ${m.rudderRetries} RudderStack SDK retries) | ${m.failoverSeconds.toFixed(1)} |`,
        );
  }
  // A loss in a run that allows it (failover without REDIS_ACK_REPLICAS) is reported above, not failed on.
  const failed = results.filter((r) => (r.lost > 0 && !r.lossAllowed) || r.duplicated > 0 || r.failures.length > 0);
  if (failed.length > 0) {
    console.error(
      `\nFAILED: ${failed.map((r) => `${r.scenario} (${[r.lost > 0 && !r.lossAllowed && `${r.lost} lost`, r.duplicated > 0 && `${r.duplicated} duplicated`, ...r.failures].filter(Boolean).join(', ')})`).join('; ')}`,
    );
    process.exit(1);
  }
}

/** Hostile requests against the running gateway: fails on a 5xx, no answer, a dead process or a stuck queue. */
async function fuzz(): Promise<void> {
  const result = await fuzzGateway({
    requests: Number(values.requests),
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(result, null, 2));
  const problems = [
    result.failures.length > 0 && `${result.failures.length} requests got a 5xx or no answer`,
    !result.gatewayAlive && 'the gateway died',
    !result.workersAlive && 'a worker died',
    !result.queuesDrained && 'the queues did not drain, or a job failed',
    !result.stillServing && 'a plain event sent afterwards was not stored as sent',
    result.events.unaccountedCount > 0 && `${result.events.unaccountedCount} events of requests answered 200 were neither stored nor rejected with a reason`,
    (result.afterAbandonedUploads.status !== 200 || result.afterAbandonedUploads.ms >= 1000) &&
      `after abandoned uploads a normal request was answered ${result.afterAbandonedUploads.status || 'never'} in ${result.afterAbandonedUploads.ms} ms`,
  ].filter(Boolean);
  if (problems.length > 0) {
    console.error(`\nFAILED: ${problems.join('; ')}`);
    process.exit(1);
  }
}

(positionals[0] === 'fuzz' ? fuzz() : main()).catch((error: Error) => {
  console.error(`faults failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
