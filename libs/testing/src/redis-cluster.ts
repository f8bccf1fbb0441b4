import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './processes';
import { redisServerArgs } from './redis-server';

const run = promisify(execFile);

/** Redis Cluster's bus listens on the node's port + 10000, so both must be free. */
const BUS_OFFSET = 10_000;

/** One `redis-server --cluster-enabled yes` of a test's cluster. */
export interface OwnClusterNode {
  port: number;
  /** False once it was killed or stopped. */
  readonly running: boolean;
  /** SIGKILLs the server (kill -9): no shutdown, no save, its replica must take over. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data folder (it rejoins as a replica of whoever took over). */
  start(): Promise<void>;
}

/** A Redis Cluster of the test's own: 3 primaries and 3 replicas on free ports. */
export interface OwnCluster {
  nodes: OwnClusterNode[];
  /** `host:port,…` of every node, as `REDIS_CLUSTER_NODES` takes it. */
  clusterNodes: string;
  /** The ports of the nodes that are primaries now (from CLUSTER NODES of a live node). */
  primaryPorts(): Promise<number[]>;
  /** The port of the primary that serves `slot` now. */
  primaryPortForSlot(slot: number): Promise<number>;
  /** The hash slot of `key` (CLUSTER KEYSLOT). */
  keySlot(key: string): Promise<number>;
  /** `redis-cli -p port …args`, its output trimmed. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The ports of the replicas of the primary on `port` (those CLUSTER NODES lists, up or not). */
  replicaPortsOf(port: number): Promise<number[]>;
  /** Waits until the primary on `port` has `count` replicas online (INFO replication). */
  waitForReplicas(port: number, count: number, timeoutMs?: number): Promise<void>;
  /** Kills -9 the primary on `port` (or the first primary) and waits until its replica was promoted and the cluster is ok; returns the killed port. */
  killPrimary(port?: number): Promise<number>;
  /** Waits until every running node reports cluster_state:ok. */
  waitForOk(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes their data folders. */
  stop(): Promise<void>;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose bus port (port + 10000) is free too and below 65536. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort();
    if (port + BUS_OFFSET > 65_535 || taken.has(port) || taken.has(port + BUS_OFFSET)) continue;
    if (await portIsFree(port + BUS_OFFSET)) return port;
  }
  throw new Error('found no free port pair for a cluster node');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a Redis Cluster from PATH's `redis-server` and `redis-cli`: 6 nodes on free ports (AOF
 * everysec, node timeout 1 s so a killed primary is replaced within a few seconds), joined with
 * `redis-cli --cluster create … --cluster-replicas 1`, and waits until every node says cluster_state:ok.
 */
export async function startOwnCluster(options: { appendfsync?: 'always' | 'everysec'; nodeTimeoutMs?: number } = {}): Promise<OwnCluster> {
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port).add(port + BUS_OFFSET);
    ports.push(port);
  }
  const dirs: string[] = [];
  const nodes = ports.map((port): OwnClusterNode => {
    const dir = mkdtempSync(path.join(tmpdir(), 'evt-cluster-'));
    dirs.push(dir);
    const args = [
      ...redisServerArgs({ port, dir, appendfsync: options.appendfsync }),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(options.nodeTimeoutMs ?? 1000),
    ];
    let child: ChildProcess | undefined;
    const node: OwnClusterNode = {
      port,
      get running() {
        return child !== undefined && child.exitCode === null && child.signalCode === null;
      },
      async kill() {
        const running = child;
        if (!running || running.exitCode !== null || running.signalCode !== null) return;
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.kill('SIGKILL');
        await exited;
      },
      async start() {
        child = spawn('redis-server', args, { stdio: 'ignore' });
        await waitForPort(port, 10_000);
      },
    };
    return node;
  });

  const cli = async (port: number, ...args: string[]) => {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
    return stdout.trim();
  };
  const live = () => nodes.filter((node) => node.running);
  const clusterNodesTable = async () => {
    const text = await cli(live()[0].port, 'cluster', 'nodes');
    return text.split('\n').map((line) => line.trim().split(' '));
  };
  const primaryPorts = async () =>
    (await clusterNodesTable())
      .filter((fields) => fields[2].split(',').includes('master') && !fields[2].includes('fail'))
      .map((fields) => Number(fields[1].split('@')[0].split(':').pop()));
  const waitForOk = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        live().map((node) =>
          cli(node.port, 'cluster', 'info').then(
            (info) => /cluster_state:ok/.test(info),
            () => false,
          ),
        ),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`the cluster was not ok within ${timeoutMs} ms`);
      await sleep(100);
    }
  };

  const own: OwnCluster = {
    nodes,
    clusterNodes: ports.map((port) => `127.0.0.1:${port}`).join(','),
    primaryPorts,
    async primaryPortForSlot(slot) {
      for (const fields of await clusterNodesTable()) {
        if (!fields[2].includes('master') || fields[2].includes('fail')) continue;
        for (const range of fields.slice(8)) {
          if (range.startsWith('[')) continue;
          const [from, to] = range.split('-').map(Number);
          if (slot >= from && slot <= (to ?? from)) return Number(fields[1].split('@')[0].split(':').pop());
        }
      }
      throw new Error(`no primary serves slot ${slot}`);
    },
    async keySlot(key) {
      return Number(await cli(live()[0].port, 'cluster', 'keyslot', key));
    },
    cli,
    async replicaPortsOf(port) {
      const table = await clusterNodesTable();
      const portOf = (fields: string[]) => Number(fields[1].split('@')[0].split(':').pop());
      const primary = table.find((fields) => portOf(fields) === port);
      if (!primary) throw new Error(`no node on ${port}`);
      return table.filter((fields) => fields[3] === primary[0]).map(portOf);
    },
    async waitForReplicas(port, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const info = await cli(port, 'info', 'replication').catch(() => '');
        if (info.includes(`connected_slaves:${count}`) && (info.match(/state=online/g) ?? []).length === count) return;
        if (Date.now() > deadline) throw new Error(`${port} did not have ${count} replica(s) online within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async killPrimary(port) {
      const primaries = await primaryPorts();
      const victim = port ?? primaries[0];
      if (!primaries.includes(victim)) throw new Error(`${victim} is not a primary`);
      await nodes.find((node) => node.port === victim)?.kill();
      const deadline = Date.now() + 30_000;
      // Its replica is promoted once the others mark it failed (node timeout), then the cluster is ok again.
      for (;;) {
        const now = await primaryPorts().catch(() => primaries);
        if (now.length === 3 && !now.includes(victim)) break;
        if (Date.now() > deadline) throw new Error(`no replica took over from ${victim} within 30 s`);
        await sleep(100);
      }
      await waitForOk();
      return victim;
    },
    waitForOk,
    async stop() {
      await Promise.all(nodes.map((node) => node.kill()));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(nodes.map((node) => node.start()));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      timeout: 60_000,
    });
    await waitForOk();
    // Every replica must have attached to its primary before a test relies on WAIT or a failover.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const table = await clusterNodesTable();
      const replicas = table.filter((fields) => fields[2].includes('slave') && fields[3] !== '-');
      const synced = await Promise.all(
        replicas.map((fields) =>
          cli(Number(fields[1].split('@')[0].split(':').pop()), 'info', 'replication').then((info) => /master_link_status:up/.test(info)),
        ),
      );
      if (replicas.length === 3 && synced.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('the replicas did not sync within 30 s');
      await sleep(100);
    }
  } catch (error) {
    await own.stop();
    throw error;
  }
  return own;
}
