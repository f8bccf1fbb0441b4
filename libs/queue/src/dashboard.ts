import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import { createRedis } from './connection';
import { decodeJobDataSync } from './job-data';
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
      // bull-board's formatters are synchronous; this runs once per job shown, on an admin's request.
      adapter.setFormatter('data', decodeJobDataSync);
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
