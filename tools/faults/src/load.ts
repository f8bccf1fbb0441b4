import { waitFor, type IsolatedStack } from '@evt/testing';
import { drive, driveRudderSdk, driveSdk, type DriveResult, type StoredIn, type Target, type Workload } from './drive';

/** How long and how hard the clients drive the gateways. */
export interface LoadOptions {
  seconds: number;
  /** Raw HTTP connections, shared out over every workload and target. */
  connections: number;
  batchSize: number;
  /** Events per second sent through each real SDK (0: no SDK). */
  sdkEventsPerSecond: number;
}

/** One client's load: what it is called in reports, where its ids land, and what it got through. */
export interface Load<R = Promise<DriveResult>> {
  client: string;
  storedIn: StoredIn;
  result: R;
}

/**
 * Starts the clients against `url()` (read for each raw HTTP request, once for each SDK): raw
 * HTTP load of each workload for each target, and, at `sdkEventsPerSecond`, the Segment SDK on
 * the first target and the RudderStack SDK on the last.
 */
export function startLoads(options: LoadOptions, url: () => string, targets: Target[], workloads: Workload[]): Load[] {
  const connections = Math.max(1, Math.round(options.connections / (workloads.length * targets.length)));
  const loads: Load[] = workloads.flatMap((workload) =>
    targets.map((target, i) => ({
      client: `http ${workload.name}${i > 0 ? ` (source ${i + 1})` : ''}`,
      storedIn: workload.storedIn,
      result: drive({ url, target, workload, connections, seconds: options.seconds, batchSize: options.batchSize }),
    })),
  );
  if (options.sdkEventsPerSecond > 0) {
    // With several sources, the second SDK sends from another workspace's source.
    const sdk = (target: Target) => ({ url: url(), writeKey: target.writeKey, seconds: options.seconds, eventsPerSecond: options.sdkEventsPerSecond });
    loads.push({ client: 'sdk @segment/analytics-node', storedIn: 'events', result: driveSdk(sdk(targets[0])) });
    loads.push({ client: 'sdk @rudderstack/rudder-sdk-node', storedIn: 'events', result: driveRudderSdk(sdk(targets[targets.length - 1])) });
  }
  return loads;
}

/** Waits for every client to finish (its retries included). */
export async function finishLoads(loads: Load[]): Promise<Array<Load<DriveResult>>> {
  return Promise.all(loads.map(async (load) => ({ ...load, result: await load.result })));
}

type Db = Pick<IsolatedStack['db'], 'query'>;

/** Every id stored for `sourceIds` in `table`, with the most rows one source has for it. */
async function storedIds(db: Db, sourceIds: string[], table: StoredIn): Promise<Map<string, number>> {
  const query =
    table === 'events'
      ? 'SELECT id, max(n)::int AS n FROM (SELECT message_id AS id, count(*) AS n FROM events WHERE source_id = ANY($1) GROUP BY source_id, message_id) AS per_source GROUP BY id'
      : 'SELECT id, max(n)::int AS n FROM (SELECT record_id AS id, count(*) AS n FROM retl_records WHERE source_id = ANY($1) GROUP BY source_id, record_id) AS per_source GROUP BY id';
  const rows = await db.query<{ id: string; n: number }>(query, [sourceIds]);
  return new Map(rows.map((row) => [row.id, row.n]));
}

/** What became of every acknowledged id, and what each client saw. */
export interface Accounting {
  acknowledged: number;
  /** Acknowledged ids found in Postgres. */
  stored: number;
  lost: number;
  /** Ids (acknowledged or not) stored more than once under one source. */
  duplicated: number;
  /** Acknowledged ids per client. */
  byClient: Record<string, number>;
  /** Answers other than 200 per client that had any (see DriveResult.refusals). */
  refusals: Record<string, Record<string, number>>;
  /** `<client> gave up on <n>`, for each client that gave up on some. */
  abandoned: string[];
}

/**
 * Looks up every id the clients (and `extra`, ids of the `events` table acknowledged to the
 * scenario itself) got acknowledged, waiting up to `waitMs` for the last to be stored.
 */
export async function accountLoads(db: Db, sourceIds: string[], results: Array<Load<DriveResult>>, extra: string[], waitMs: number): Promise<Accounting> {
  const expected = new Map<string, StoredIn>(extra.map((id) => [id, 'events']));
  for (const load of results) for (const id of load.result.acknowledged) expected.set(id, load.storedIn);
  const tables = [...new Set<StoredIn>([...expected.values(), 'events'])];
  const lookUp = async () => new Map(await Promise.all(tables.map(async (table) => [table, await storedIds(db, sourceIds, table)] as const)));
  let found = await lookUp();
  const missing = () => [...expected].filter(([id, table]) => !found.get(table)?.has(id)).length;
  try {
    await waitFor(async () => ((found = await lookUp()), missing() === 0 ? true : undefined), waitMs, 'the queues to drain');
  } catch {
    // counted as lost
  }
  return {
    acknowledged: expected.size,
    stored: [...expected].filter(([id, table]) => found.get(table)?.has(id)).length,
    lost: missing(),
    duplicated: [...found.values()].reduce((sum, ids) => sum + [...ids.values()].filter((n) => n > 1).length, 0),
    byClient: Object.fromEntries(results.map((load) => [load.client, load.result.acknowledged.length])),
    refusals: Object.fromEntries(results.filter((load) => Object.keys(load.result.refusals).length > 0).map((load) => [load.client, load.result.refusals])),
    abandoned: results.filter((load) => load.result.abandoned > 0).map((load) => `${load.client} gave up on ${load.result.abandoned}`),
  };
}
