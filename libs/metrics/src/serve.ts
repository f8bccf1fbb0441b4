import cluster from 'node:cluster';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'evt:metrics:request';
const REPLY = 'evt:metrics:reply';

/**
 * Where `/metrics` gets its text. In a gateway cluster (GATEWAY_PROCESSES > 1) the process that
 * was asked requests the sum over every process from the primary (see `aggregateForWorkers`);
 * otherwise it is this process's registry.
 */
export function metricsSource(registry: Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics();
  // Each process answers the primary's collection with this registry (prom-client starts
  // listening for the primary's requests when an AggregatorRegistry is made).
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: { type?: string; id?: number; text?: string; error?: string }) => {
    if (message?.type !== REPLY || message.id === undefined) return;
    const request = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) request?.reject(new Error(message.error));
    else request?.resolve(message.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the primary did not answer with metrics within 5 s'));
      }, 5000);
      waiting.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      process.send?.({ type: REQUEST, id });
    });
}

/** In a cluster's primary: answers each process's request with the metrics of all of them. */
export function aggregateForWorkers(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: REPLY, id: message.id, text }),
      (error: Error) => worker.send({ type: REPLY, id: message.id, error: error.message }),
    );
  });
}

/**
 * Answers GET /metrics in Prometheus's text format. With a token, only `Authorization: Bearer
 * <token>` is let in (`authorized` decides; it compares in constant time).
 */
export function metricsHandler(
  metrics: () => Promise<string>,
  authorized: (req: IncomingMessage) => boolean,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (!authorized(req)) {
      res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer realm="metrics"' }).end('Invalid metrics token');
      return;
    }
    try {
      const text = await metrics();
      res.writeHead(200, { 'Content-Type': AggregatorRegistry.PROMETHEUS_CONTENT_TYPE }).end(text);
    } catch (error) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1' }).end(`Metrics unavailable: ${(error as Error).message}`);
    }
  };
}

/** A worker's metrics server: GET /metrics on `port`, 404 for anything else. */
export async function serveMetrics(options: {
  port: number;
  host: string;
  registry: Registry;
  authorized: (req: IncomingMessage) => boolean;
}): Promise<{ port: number; close(): Promise<void> }> {
  const handle = metricsHandler(() => options.registry.metrics(), options.authorized);
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) return void handle(req, res);
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
