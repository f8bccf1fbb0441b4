/** A Redis Sentinel deployment: the sentinels to ask, and the name of the primary they watch. */
export interface SentinelTarget {
  sentinels: Array<{ host: string; port: number }>;
  name: string;
  /** Credentials of the primary (and its replicas), as a `REDIS_URL` would carry them. */
  username?: string;
  password?: string;
}

const SENTINEL_PROTOCOL = 'redis-sentinel:';

/**
 * The address of a Sentinel deployment as one string, `redis-sentinel://[user:password@]host:port,…/name`,
 * so that it travels wherever a `redis://` URL does (settings, producers, consumers, the CLI) and
 * createRedis alone tells the two apart.
 */
export function sentinelAddress(target: SentinelTarget): string {
  const credentials =
    target.password !== undefined || target.username !== undefined
      ? `${encodeURIComponent(target.username ?? '')}:${encodeURIComponent(target.password ?? '')}@`
      : '';
  return `redis-sentinel://${credentials}${target.sentinels.map(({ host, port }) => `${host}:${port}`).join(',')}/${encodeURIComponent(target.name)}`;
}

/** The connection options of an address (ioredis's names): a Sentinel address's sentinels and name, or undefined for a plain `redis://` URL. */
export function sentinelOptions(address: string): SentinelTarget | undefined {
  if (!address.startsWith(`${SENTINEL_PROTOCOL}//`)) return undefined;
  const match = /^redis-sentinel:\/\/(?:([^:@/]*):([^@/]*)@)?([^/]+)\/([^/?#]+)$/.exec(address);
  if (!match) throw new Error(`not a Sentinel address: ${address.replace(/\/\/[^@/]*@/, '//***@')}`);
  const [, username, password, hosts, name] = match;
  return {
    sentinels: hosts.split(',').map((hostPort) => {
      const colon = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
    }),
    name: decodeURIComponent(name),
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
}

/** A Redis Cluster: some of its nodes (the client learns the rest), and the credentials of every node. */
export interface ClusterTarget {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
}

const CLUSTER_PROTOCOL = 'redis-cluster:';

/** The address of a Redis Cluster as one string, `redis-cluster://[user:password@]host:port,…`, read by createRedis as sentinelAddress is. */
export function clusterAddress(target: ClusterTarget): string {
  const credentials =
    target.password !== undefined || target.username !== undefined
      ? `${encodeURIComponent(target.username ?? '')}:${encodeURIComponent(target.password ?? '')}@`
      : '';
  return `redis-cluster://${credentials}${target.nodes.map(({ host, port }) => `${host}:${port}`).join(',')}`;
}

/** The nodes and credentials of a Cluster address, or undefined for any other address. */
export function clusterOptions(address: string): ClusterTarget | undefined {
  if (!address.startsWith(`${CLUSTER_PROTOCOL}//`)) return undefined;
  const match = /^redis-cluster:\/\/(?:([^:@/]*):([^@/]*)@)?([^/@]+)\/?$/.exec(address);
  if (!match) throw new Error(`not a Cluster address: ${address.replace(/\/\/[^@/]*@/, '//***@')}`);
  const [, username, password, hosts] = match;
  return {
    nodes: hosts.split(',').map((hostPort) => {
      const colon = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
    }),
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
}

/** True for the address of a Redis Cluster (REDIS_CLUSTER_NODES). */
export function isClusterAddress(address: string): boolean {
  return address.startsWith(`${CLUSTER_PROTOCOL}//`);
}
