import net from 'node:net';

/** A round-robin TCP proxy in front of several gateways: one address for clients that take one (the SDKs). */
export interface RoundRobinProxy {
  url: string;
  /** Client connections handed to each upstream port so far. */
  handed: Record<number, number>;
  close(): Promise<void>;
}

/**
 * Listens on a free port and hands each client connection to the next of `upstreams` (ports on
 * 127.0.0.1). An upstream that refuses the connection is skipped for the next, as a load balancer
 * retries a connect; a connection whose upstream dies is closed, and the client retries its request.
 */
export async function startRoundRobinProxy(upstreams: number[]): Promise<RoundRobinProxy> {
  let next = 0;
  const handed: Record<number, number> = Object.fromEntries(upstreams.map((port) => [port, 0]));
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.pause();
    client.on('error', () => undefined);
    client.on('close', () => open.delete(client));
    // This connection's turn; a refused connect moves on from it (not from the shared counter, which others move).
    const first = next++;
    const attempt = (tries: number) => {
      if (tries >= upstreams.length || client.destroyed) return client.resetAndDestroy();
      const port = upstreams[(first + tries) % upstreams.length];
      const upstream = net.connect(port, '127.0.0.1');
      open.add(upstream);
      let connected = false;
      upstream.on('close', () => open.delete(upstream));
      upstream.once('connect', () => {
        if (client.destroyed) return upstream.destroy();
        connected = true;
        handed[port]++;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
      });
      // Before the connect: try the next upstream. After (the upstream died, or answered early and
      // closed while the body was still coming): what it sent is passed on, then the client's
      // connection is closed too. A reset here would discard an early 503 the client must read.
      upstream.on('error', () => {
        if (!connected) return attempt(tries + 1);
        client.unpipe(upstream);
        client.end();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    handed,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
