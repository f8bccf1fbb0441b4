/** What every scenario is given: how long and how hard to drive the gateways, and where to log. */
export interface FaultOptions {
  seconds: number;
  /** How long Postgres stays down in the postgres-stopped scenario. */
  postgresOutageSeconds: number;
  connections: number;
  batchSize: number;
  /** Events per second sent through each real SDK beside the raw HTTP load (0: no SDK). */
  sdkEventsPerSecond: number;
  /** fast-check's seed for the poison scenario's plans (default: the clock). */
  seed?: number;
  log: (line: string) => void;
}

/** The multi-node scenarios' own figures (see multinode.ts). */
export interface MultiNodeFigures {
  setup: 'sentinel' | 'cluster';
  /** REDIS_ACK_REPLICAS of the gateways. */
  ackReplicas: number;
  /** How long the replica that took over was stopped before the primary died (0: in sync). */
  replicaLagMs: number;
  /** 503 answers the raw HTTP clients and the Segment SDK got, and retried. */
  answers503: number;
  /** Batches the RudderStack SDK sent again (it does not tell which answer made it retry). */
  rudderRetries: number;
  /** From the primary's SIGKILL until the Redis deployment named a new primary that answers as one. */
  failoverSeconds: number;
}

export interface FaultResult {
  scenario: string;
  acknowledged: number;
  stored: number;
  lost: number;
  duplicated: number;
  /** Acknowledged ids per client: each raw HTTP workload, and the SDK. */
  byClient: Record<string, number>;
  /** Answers other than 200 per client, by status, `refused` or `dropped` (see DriveResult). */
  refusals: Record<string, Record<string, number>>;
  /** What else the scenario promised and did not hold (it fails with them as with a loss). */
  failures: string[];
  notes: string;
  /** True when losses are reported, not failed on (a failover without REDIS_ACK_REPLICAS). */
  lossAllowed?: boolean;
  /** The poison scenario's hostile events: each stored exactly as sent, rejected with a reason, or refused (400) with one. */
  hostile?: { sent: number; storedExactly: number; deduplicated: number; rejected: number; refused: number; unaccounted: number; seed: number };
  multiNode?: MultiNodeFigures;
}
