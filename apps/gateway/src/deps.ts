import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '@evt/config';
import type { Logger } from '@evt/logging';
import type { GatewayMetrics } from '@evt/metrics';
import type { QueueDashboard } from '@evt/queue';
import type { BodyBudget } from './http/body-budget';
import type { ClientIp } from './request/context';
import type { IngestService } from './services/ingest.service';
import type { InternalIngestService } from './services/internal-ingest.service';
import type { SourceRegistry } from './services/source-registry';

/** What the routes use, built once by startGateway (gateway.ts). */
export interface GatewayDeps {
  config: Config;
  logger: Logger;
  sources: SourceRegistry;
  ingest: IngestService;
  internal: InternalIngestService;
  checks: { redis(): Promise<void>; postgres(): Promise<void> };
  version: string;
  /** True once a stop was asked for: new requests get 503 so clients retry elsewhere. */
  isStopping(): boolean;
  /** The client's address, as TRUST_PROXY allows. */
  clientIp: ClientIp;
  /** Bounds the request bodies held in memory at once. */
  bodyBudget: BodyBudget;
  metrics: GatewayMetrics;
  /** GET /metrics (Prometheus text; METRICS_TOKEN as a Bearer token when set). */
  serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The queue dashboard's handler (bull-board), when ADMIN_TOKEN is set; routes/admin.route.ts guards it. */
  queueDashboard?: QueueDashboard['handler'];
}
