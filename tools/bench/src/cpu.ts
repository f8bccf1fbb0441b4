import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { DbClient } from '@evt/db';

/** Whose CPU a window measures: process trees by their root pid, and Postgres as a whole. */
export interface CostTargets {
  gateway?: number;
  redis?: number;
  worker?: number;
  /** The plain node:http baseline server. */
  baseline?: number;
  /** Every `postgres` process on the machine, and the bench database's own statistics. */
  postgres?: DbClient;
}

/**
 * `postgres` is every process of the cluster (reaped backends included, through the postmaster);
 * `postgresBench` only the bench database's backends and the shared background processes (WAL
 * writer, checkpointer…), which stays meaningful while other databases here are busy; it misses
 * backends of the bench database that exit within the window.
 */
export type CostPart = 'gateway' | 'redis' | 'worker' | 'baseline' | 'postgres' | 'postgresBench' | 'loadGenerator';

/** Postgres's own counters over the window, per 10,000 events (WAL is cluster-wide; the rest is the bench database). */
export interface PostgresCost {
  commits: number;
  tuplesInserted: number;
  blocksRead: number;
  blocksHit: number;
  walMegabytes: number;
}

/** What a measured window cost: CPU seconds per process group, in all and per 10,000 events. */
export interface Cost {
  seconds: number;
  events: number;
  cpuSeconds: Partial<Record<CostPart, number>>;
  cpuSecondsPer10kEvents: Partial<Record<CostPart, number>>;
  postgresPer10kEvents?: PostgresCost;
}

/** Ticks per second of /proc's utime and stime (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcessTicks {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime: children reaped during the window stay counted through their parent. */
  ticks: number;
  /** utime + stime only. */
  ownTicks: number;
}

/** Every process's CPU ticks from /proc/<pid>/stat (world-readable); processes gone mid-read are skipped. */
function readProcesses(): ProcessTicks[] {
  const processes: ProcessTicks[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // comm is in parentheses and may hold spaces or parentheses itself: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((index) => Number(fields[index]));
    processes.push({
      pid: Number(entry),
      ppid: Number(fields[1]),
      comm: stat.slice(stat.indexOf('(') + 1, close),
      ticks: utime + stime + cutime + cstime,
      ownTicks: utime + stime,
    });
  }
  return processes;
}

/** Ticks of `root` and all its descendants (GATEWAY_PROCESSES forks workers; Redis forks for AOF rewrites). */
function treeTicks(processes: ProcessTicks[], root: number): number {
  const children = new Map<number, ProcessTicks[]>();
  for (const process of processes) children.set(process.ppid, [...(children.get(process.ppid) ?? []), process]);
  let ticks = 0;
  const pending = processes.filter((process) => process.pid === root);
  while (pending.length > 0) {
    const process = pending.pop() as ProcessTicks;
    ticks += process.ticks;
    pending.push(...(children.get(process.pid) ?? []));
  }
  return ticks;
}

// Postgres titles its processes: `postgres: 15/main: <user> <database> <client> <state>` for a backend.
const BACKGROUND_PROCESS = /: (checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|stats collector)\s*$/;

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Ticks of each of the bench database's backends (autovacuum workers on it included) and of the shared background processes, by pid. */
function benchPostgresTicks(processes: ProcessTicks[], database: string): Map<number, number> {
  return new Map(
    processes
      .filter((process) => process.comm === 'postgres')
      .map((process) => ({ process, title: cmdline(process.pid) }))
      .filter(({ title }) => title.includes(` ${database} `) || title.endsWith(` ${database}`) || BACKGROUND_PROCESS.test(title))
      .map(({ process }) => [process.pid, process.ownTicks]),
  );
}

/** What the processes of `after` spent since `before`; one that has exited meanwhile counts for nothing (it cannot be read any more). */
function ticksSince(before: Map<number, number> | undefined, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, now] of after) ticks += now - (before?.get(pid) ?? 0);
  return ticks;
}

interface PostgresCounters {
  database: string;
  commits: number;
  tuplesInserted: number;
  blocksRead: number;
  blocksHit: number;
  walBytes: number;
}

async function readPostgresCounters(db: DbClient): Promise<PostgresCounters> {
  const [row] = await db.query<Record<string, string>>(
    `SELECT d.datname, d.xact_commit, d.tup_inserted, d.blks_read, d.blks_hit, w.wal_bytes
       FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`,
  );
  return {
    database: row.datname,
    commits: Number(row.xact_commit),
    tuplesInserted: Number(row.tup_inserted),
    blocksRead: Number(row.blks_read),
    blocksHit: Number(row.blks_hit),
    walBytes: Number(row.wal_bytes),
  };
}

interface Sample {
  at: number;
  ticks: Partial<Record<CostPart, number>>;
  loadGenerator: NodeJS.CpuUsage;
  postgres?: PostgresCounters;
  /** Ticks of the bench database's backends by pid (postgresBench is computed per process: backends come and go). */
  benchBackends?: Map<number, number>;
}

async function sample(targets: CostTargets): Promise<Sample> {
  const processes = readProcesses();
  const ticks: Partial<Record<CostPart, number>> = {};
  for (const part of ['gateway', 'redis', 'worker', 'baseline'] as const) {
    const pid = targets[part];
    if (pid) ticks[part] = treeTicks(processes, pid);
  }
  // All of the cluster's processes, the postmaster's reaped backends included: other databases here are idle.
  const postgres = targets.postgres ? await readPostgresCounters(targets.postgres) : undefined;
  const benchBackends = postgres ? benchPostgresTicks(processes, postgres.database) : undefined;
  if (postgres) ticks.postgres = processes.filter((process) => process.comm === 'postgres').reduce((sum, process) => sum + process.ticks, 0);
  return { at: Date.now(), ticks, loadGenerator: process.cpuUsage(), postgres, benchBackends };
}

/** A window being measured: `stop(events)` samples again and gives the cost of what ran in between. */
export interface CostWindow {
  stop(events: number): Promise<Cost>;
}

/** Samples now (after start-up, before the load) and again on `stop`, so start-up is never counted. */
export async function startCostWindow(targets: CostTargets): Promise<CostWindow> {
  const before = await sample(targets);
  return {
    async stop(events) {
      // Backends publish their statistics at most once a second: let the last ones in.
      if (targets.postgres) await new Promise((resolve) => setTimeout(resolve, 1500));
      const after = await sample(targets);
      const per10k = (value: number) => (events > 0 ? (value * 10_000) / events : 0);
      const cpuSeconds: Partial<Record<CostPart, number>> = {};
      for (const [part, ticks] of Object.entries(after.ticks) as Array<[CostPart, number]>)
        cpuSeconds[part] = (ticks - (before.ticks[part] ?? 0)) / CLOCK_TICKS;
      if (after.benchBackends) cpuSeconds.postgresBench = ticksSince(before.benchBackends, after.benchBackends) / CLOCK_TICKS;
      const usage = process.cpuUsage(before.loadGenerator);
      cpuSeconds.loadGenerator = (usage.user + usage.system) / 1e6;
      const cpuSecondsPer10kEvents = Object.fromEntries(Object.entries(cpuSeconds).map(([part, seconds]) => [part, per10k(seconds)]));
      const cost: Cost = { seconds: (after.at - before.at) / 1000, events, cpuSeconds, cpuSecondsPer10kEvents };
      if (before.postgres && after.postgres) {
        const delta = (field: Exclude<keyof PostgresCounters, 'database'>) =>
          per10k((after.postgres as PostgresCounters)[field] - (before.postgres as PostgresCounters)[field]);
        cost.postgresPer10kEvents = {
          commits: delta('commits'),
          tuplesInserted: delta('tuplesInserted'),
          blocksRead: delta('blocksRead'),
          blocksHit: delta('blocksHit'),
          walMegabytes: delta('walBytes') / 1024 / 1024,
        };
      }
      return cost;
    },
  };
}
