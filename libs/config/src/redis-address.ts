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
