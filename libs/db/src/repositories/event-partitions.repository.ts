import type { PoolClient } from 'pg';
import type { DbClient } from '../client';

/** How much of received_at one partition of `events` covers (UTC days or months). */
export type PartitionInterval = 'month' | 'day';

/** A partition of `events`: its range of received_at ([from, to), null for MINVALUE/MAXVALUE) and Postgres's estimate of its rows. */
export interface EventPartition {
  name: string;
  /** The default partition: rows no range covers; never dropped by prune. */
  isDefault: boolean;
  from: string | null;
  to: string | null;
  /** pg_class.reltuples: null until the partition was first analysed (autovacuum or ANALYZE). */
  rowsEstimate: number | null;
}

export interface MaintenanceSettings {
  interval: PartitionInterval;
  /** Partitions are kept created for the current interval and this many after it. */
  ahead: number;
  /** Dedup keys whose first delivery is older than this many days are deleted. */
  dedupWindowDays: number;
  now?: Date;
}

export interface MaintenanceResult {
  created: EventPartition[];
  /** Rows moved out of the default partition into the partitions created for them. */
  movedFromDefault: number;
  expiredKeys: number;
}

// Any fixed number: the workers' maintenance and the CLI's prune take it, so only one changes partitions at a time.
const PARTITIONS_LOCK = 7_301_245_120;
// A partition change waits this long for the locks on events (behind a long read), then gives up until next time.
const LOCK_TIMEOUT = '10s';
const KEYS_BATCH = 10_000;
const DAY_MS = 86_400_000;

interface Range {
  from: number; // ms; -Infinity for MINVALUE
  to: number; // ms; Infinity for MAXVALUE
}

interface PartitionRow extends Record<string, unknown> {
  name: string;
  is_default: boolean;
  from_ms: number | null;
  to_ms: number | null;
  from_min: boolean;
  to_max: boolean;
  reltuples: number;
}

// The bounds are read back from pg_get_expr's text in the same session, so the cast is exact.
const LIST = `
  SELECT c.relname AS name, b.bound = 'DEFAULT' AS is_default, c.reltuples::float8 AS reltuples,
         r.m[1] = 'MINVALUE' AS from_min, r.m[2] = 'MAXVALUE' AS to_max,
         (extract(epoch FROM nullif(btrim(r.m[1], ''''), 'MINVALUE')::timestamptz) * 1000)::float8 AS from_ms,
         (extract(epoch FROM nullif(btrim(r.m[2], ''''), 'MAXVALUE')::timestamptz) * 1000)::float8 AS to_ms
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
    CROSS JOIN LATERAL (SELECT regexp_match(b.bound, '^FOR VALUES FROM \\((.*)\\) TO \\((.*)\\)$') AS m) r
   WHERE i.inhparent = 'public.events'::regclass
   ORDER BY b.bound = 'DEFAULT', from_ms NULLS FIRST, c.relname`;

const iso = (ms: number) => new Date(ms).toISOString();

function toPartition(row: PartitionRow): EventPartition {
  return {
    name: row.name,
    isDefault: row.is_default,
    from: row.from_ms === null ? null : iso(row.from_ms),
    to: row.to_ms === null ? null : iso(row.to_ms),
    rowsEstimate: row.reltuples >= 0 ? Math.round(row.reltuples) : null,
  };
}

function rangeOf(row: PartitionRow): Range {
  return { from: row.from_min ? -Infinity : (row.from_ms as number), to: row.to_max ? Infinity : (row.to_ms as number) };
}

/** The interval that holds `ms`, and its partition's name: events_2026_12 (month) or events_2026_12_02 (day), UTC. */
export function intervalAt(interval: PartitionInterval, ms: number, offset = 0): { name: string; from: number; to: number } {
  const at = new Date(ms);
  const [y, m, d] = [at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()];
  const from = interval === 'month' ? Date.UTC(y, m + offset, 1) : Date.UTC(y, m, d) + offset * DAY_MS;
  const to = interval === 'month' ? Date.UTC(y, m + offset + 1, 1) : from + DAY_MS;
  const start = new Date(from).toISOString();
  const name =
    interval === 'month' ? `events_${start.slice(0, 4)}_${start.slice(5, 7)}` : `events_${start.slice(0, 4)}_${start.slice(5, 7)}_${start.slice(8, 10)}`;
  return { name, from, to };
}

/** The parts of [from, to) that no existing range covers, in order. */
export function uncovered(from: number, to: number, existing: Range[]): Range[] {
  const gaps: Range[] = [];
  let start = from;
  for (const range of [...existing].sort((a, b) => a.from - b.from)) {
    if (range.to <= start || range.from >= to) continue;
    if (range.from > start) gaps.push({ from: start, to: range.from });
    start = Math.max(start, range.to);
    if (start >= to) break;
  }
  if (start < to) gaps.push({ from: start, to });
  return gaps;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function inTransaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * The partitions of `events` (RANGE on received_at, see migration 0002) and the dedup keys'
 * expiry: created ahead of time by the events workers (maintain), listed and dropped by the CLI.
 */
export class EventPartitionsRepository {
  constructor(private readonly db: DbClient) {}

  /** Every partition with its range and estimated rows, oldest first, the default partition last. */
  async list(): Promise<EventPartition[]> {
    return (await this.db.query<PartitionRow>(LIST)).map(toPartition);
  }

  /**
   * Creates the partitions of the current interval and `ahead` after it where none covers them
   * yet, and deletes the dedup keys older than the window; under an advisory lock, so that of
   * several workers one does it and the others skip (undefined).
   */
  async maintain(settings: MaintenanceSettings): Promise<MaintenanceResult | undefined> {
    return this.onConnection(async (client) => {
      const [{ locked }] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [PARTITIONS_LOCK])).rows;
      if (!locked) return undefined;
      try {
        const now = (settings.now ?? new Date()).getTime();
        const { created, moved } = await this.createAhead(client, settings.interval, settings.ahead, now);
        const expiredKeys = await this.expireKeys(client, new Date(now - settings.dedupWindowDays * DAY_MS));
        return { created, movedFromDefault: moved, expiredKeys };
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [PARTITIONS_LOCK]);
      }
    });
  }

  /**
   * Drops every partition whose range ends at or before `before` (never the default one), in one
   * transaction under the maintenance lock; with dryRun, only says which it would drop.
   */
  async prune(options: { before: Date; dryRun?: boolean }): Promise<EventPartition[]> {
    return this.onConnection((client) =>
      inTransaction(client, async () => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITIONS_LOCK]);
        const rows = (await client.query<PartitionRow>(LIST)).rows;
        const old = rows.filter((row) => !row.is_default && !row.to_max && row.to_ms !== null && row.to_ms <= options.before.getTime());
        if (!options.dryRun) for (const row of old) await client.query(`DROP TABLE ${ident(row.name)}`);
        return old.map(toPartition);
      }),
    );
  }

  /**
   * `work` on a connection of the pool, given back once done, or destroyed after a failure. A
   * connection lost between two statements (Postgres stopped) emits 'error' on the client, which
   * unheard would end the process (a worker stopped so in a test); it fails the next statement
   * instead.
   */
  private async onConnection<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.db.connect();
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      return await work(client);
    } catch (error) {
      broken ??= error as Error;
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async createAhead(
    client: PoolClient,
    interval: PartitionInterval,
    ahead: number,
    now: number,
  ): Promise<{ created: EventPartition[]; moved: number }> {
    const rows = (await client.query<PartitionRow>(LIST)).rows;
    const existing = rows.filter((row) => !row.is_default).map(rangeOf);
    const names = new Set(rows.map((row) => row.name));
    const defaultPartition = rows.find((row) => row.is_default)?.name;
    const created: EventPartition[] = [];
    let moved = 0;
    for (let offset = 0; offset <= ahead; offset++) {
      const slot = intervalAt(interval, now, offset);
      // Part of a slot may be covered already: by events_legacy up to the cut-over, or by partitions of the other interval.
      for (const gap of uncovered(slot.from, slot.to, existing)) {
        let name = slot.name;
        for (let n = 2; names.has(name); n++) name = `${slot.name}_${n}`;
        moved += await inTransaction(client, () => this.createPartition(client, name, gap, defaultPartition));
        names.add(name);
        existing.push(gap);
        created.push({ name, isDefault: false, from: iso(gap.from), to: iso(gap.to), rowsEstimate: null });
      }
    }
    return { created, moved };
  }

  /**
   * Creates one partition. Rows of its range already in the default partition (received while no
   * partition covered them) move into it first: Postgres refuses a partition whose rows the
   * default one holds.
   */
  private async createPartition(client: PoolClient, name: string, range: Range, defaultPartition: string | undefined): Promise<number> {
    const bounds = `FOR VALUES FROM ('${iso(range.from)}') TO ('${iso(range.to)}')`;
    const inDefault =
      defaultPartition !== undefined &&
      (await client.query(`SELECT 1 FROM ${ident(defaultPartition)} WHERE received_at >= $1 AND received_at < $2 LIMIT 1`, [iso(range.from), iso(range.to)]))
        .rowCount !== 0;
    if (!inDefault) {
      await client.query(`CREATE TABLE ${ident(name)} PARTITION OF events ${bounds}`);
      return 0;
    }
    await client.query(`CREATE TABLE ${ident(name)} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    const moved = await client.query(
      `WITH moved AS (DELETE FROM ${ident(defaultPartition)} WHERE received_at >= $1 AND received_at < $2 RETURNING *)
       INSERT INTO ${ident(name)} SELECT * FROM moved`,
      [iso(range.from), iso(range.to)],
    );
    await client.query(`ALTER TABLE events ATTACH PARTITION ${ident(name)} ${bounds}`);
    return moved.rowCount ?? 0;
  }

  /** Deletes the dedup keys first received before `before`, in batches (short transactions, no long lock). */
  private async expireKeys(client: PoolClient, before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await client.query('DELETE FROM event_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM event_keys WHERE received_at < $1 LIMIT $2))', [
        before.toISOString(),
        KEYS_BATCH,
      ]);
      total += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < KEYS_BATCH) return total;
    }
  }
}
