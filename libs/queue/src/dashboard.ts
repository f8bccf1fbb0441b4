import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliDecompressSync, inflateRawSync } from 'node:zlib';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import { createRedis } from './connection';
import { allQueueShards, queueLayout } from './queue-layout';

export interface QueueDashboardOptions {
  redisUrl: string;
  prefix: string;
  eventsShards: number;
  /** Where the caller mounts the handler (`/admin/queues`): the pages link to their assets and API under it. */
  basePath: string;
}

/** bull-board's pages and JSON API, for mounting under `basePath`, and what to close on stop. */
export interface QueueDashboard {
  /** An Express-compatible handler (`app.use(basePath, handler)`). */
  readonly handler: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
  /** Closes the queues and the dashboard's own Redis connection. */
  close(): Promise<void>;
}

/**
 * A job's data as the producers wrote it (job-data.ts: `{json}` text or deflated `{z}`), decoded
 * for reading. bull-board's formatters are synchronous, hence the sync inflate: it runs once per
 * job shown, on an admin's request, never on the ingest path. Anything else is shown as it is.
 */
export function readableJobData(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Object.keys(data).length !== 1) return data;
  const { json, z, br } = data as Record<string, unknown>;
  try {
    if (typeof json === 'string') return JSON.parse(json);
    if (typeof z === 'string') return JSON.parse(inflateRawSync(Buffer.from(z, 'base64')).toString('utf8'));
    if (typeof br === 'string') return JSON.parse(brotliDecompressSync(Buffer.from(br, 'base64')).toString('utf8'));
  } catch {
    return data;
  }
  return data;
}

/**
 * bull-board (the BullMQ community's dashboard) over every BullMQ queue of the registry, each
 * shard of `events` included, shown by its label. It has a Redis connection of its own (the
 * admin role, which waits briefly for Redis), so an admin's page loads never take the producers'
 * fail-fast connection from ingest.
 */
export function createQueueDashboard(options: QueueDashboardOptions): QueueDashboard {
  const connection = createRedis(options.redisUrl, 'admin');
  const queues = allQueueShards(queueLayout(options.redisUrl, options.prefix, options.eventsShards)).map((shard) => {
    const queue = new Queue(shard.name, { connection, prefix: options.prefix });
    // A Redis away fails the dashboard's requests; an 'error' event nobody hears would end the gateway.
    queue.on('error', () => undefined);
    return { shard, queue };
  });
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(options.basePath);
  createBullBoard({
    queues: queues.map(({ shard, queue }) => {
      const adapter = new BullMQAdapter(queue, { displayName: shard.label, allowRetries: true });
      adapter.setFormatter('data', readableJobData);
      return adapter;
    }),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'evt queues' } },
  });
  const router = serverAdapter.getRouter() as QueueDashboard['handler'];
  return {
    handler: (req, res, next) => router(req, res, next),
    async close() {
      await Promise.all(queues.map(({ queue }) => queue.close()));
      connection.disconnect();
    },
  };
}
