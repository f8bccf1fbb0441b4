import type { Cost } from './cpu';
import type { OverloadReport } from './overload';

export type Scenario = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g';

export interface BenchOptions {
  scenarios: Scenario[];
  /** (a) runs at each of these connection counts, its baseline beside it; (b) at the first. */
  connections: number[];
  seconds: number;
  e2eSeconds: number;
  e2eConnections: number;
  /**
   * (c) runs once per entry, after `events` was grown to that many rows of another source
   * (prefill.ts): how (c) changes as the table and its unique index grow. `[0]`: as it is.
   */
  prefillEvents: number[];
  memoryConnections: number;
  memoryBodyBytes: number;
  memorySeconds: number;
  gatewayProcesses: number;
  /** (e): the audience list's size, MAX_AUDIENCE_LIST_SIZE by default. */
  audienceListBytes: number;
  /** (f): how long the overload lasts, the gateway's MAX_QUEUE_BACKLOG_EVENTS, and its load. */
  overloadSeconds: number;
  overloadBacklog: number;
  overloadConnections: number;
  /** (f): how long clients keep retrying a refused batch after the load stops. */
  overloadGraceSeconds: number;
  /** (f): the rate of the real rudder-sdk-node client sending alongside. */
  sdkEventsPerSecond: number;
  databaseUrl: string;
  log: (line: string) => void;
}

/** One line of the report: a measured figure beside its baseline, with their ratio. */
export interface Row {
  scenario: string;
  target: string;
  requestsPerSecond?: number;
  eventsPerSecond?: number;
  p50Ms?: number;
  p99Ms?: number;
  peakRssBytes?: number;
  baseline: string;
  baselineValue: number;
  ratio: number;
  goal: string;
  /** Undefined for rows shown for comparison only (no goal of their own). */
  met?: boolean;
  notes?: string;
  /** CPU (and Postgres work) of the measured window, and of the baseline's where one ran. */
  cost?: Cost;
  baselineCost?: Cost;
}

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; node: string };
  options: Omit<BenchOptions, 'log' | 'databaseUrl'>;
  rows: Row[];
  e2e?: { acknowledged: number; stored: number; lost: number; duplicated: number; backlogEventsAtStop: number; drainSeconds: number };
  /** The size of `events` before each run of (c). */
  eventsTable?: Array<{ rows: number; tableMb: number; uniqueIndexMb: number; indexesMb: number; sharedBuffersMb: number }>;
  overload?: OverloadReport;
}
