import { Router, type NextFunction, type Request, type Response } from 'express';
import type { SourceConfig } from '@evt/db';
import { InvalidRequestError, SourceRejectedError, UnauthorizedError } from '@evt/errors';
import { idProblem } from '@evt/schemas';
import type { GatewayDeps } from '../deps';
import { requestGone } from '../http/body';
import { sendText } from '../http/answer';
import { internalWriteKey, sourceBeforeBody, sourceForSourceId } from '../request/auth';
import { AUDIENCE_LIST_BODY } from '../request/audience-list-body';
import { requestContext, type BatchFields } from '../request/context';
import { batchOf, JSON_BODY, readRequest } from '../request/read';

// What an audience list being read holds in memory at most: a read chunk, one member or the
// list's other fields (MAX_EVENT_SIZE), and one part being enqueued (about 2 MB of members).
const AUDIENCE_LIST_BUDGET_BYTES = 8 * 1024 * 1024;

/** The destination an rETL call names in X-Rudder-Destination-Id ('' for none), checked against the source's. */
function retlDestination(source: SourceConfig, req: Request): string {
  const header = req.headers['x-rudder-destination-id'];
  const destinationId = typeof header === 'string' ? header.trim() : '';
  // Bounded like every id (and never echoed back when it is not).
  const destinationProblem = idProblem(destinationId);
  if (destinationProblem !== undefined) throw new InvalidRequestError(`X-Rudder-Destination-Id ${destinationProblem}`);
  if (destinationId !== '') {
    const destination = source.destinations.find((candidate) => candidate.id === destinationId);
    if (!destination) throw new InvalidRequestError(`unknown destination ${destinationId}`);
    if (!destination.enabled) throw new SourceRejectedError('Destination is disabled');
  }
  return destinationId;
}

/**
 * The internal API RudderStack's own services call: cloud extract, reverse ETL, audience lists,
 * replays of archived events and pre-enriched batches. Each feeds its own queue and worker, and
 * reads its request as the public routes do (request/read.ts).
 */
export function internalRoutes(deps: GatewayDeps): Router {
  const router = Router();
  const { config } = deps;
  const writeKeySource = (req: Request) => sourceBeforeBody(deps.sources, internalWriteKey(config, req));

  router.use('/internal', (_req: Request, res: Response, next: NextFunction) => {
    if (config.internalApiEnabled) return next();
    sendText(res, 404, 'Not found');
  });

  router.post('/internal/v1/extract', async (req: Request, res: Response) => {
    const receivedAtMs = Date.now();
    const { source, body, bytes } = await readRequest(deps, req, writeKeySource(req), JSON_BODY);
    const request = requestContext(req, receivedAtMs, deps.clientIp, undefined, 'extract');
    await deps.ingest.submit({ source, events: [body], kind: 'extract', queue: 'extract', request, bytes });
    sendText(res, 200, 'OK');
  });

  // Exempt from MAX_REQUEST_SIZE, as in RudderStack: list syncs are large by nature. Up to
  // MAX_AUDIENCE_LIST_SIZE, a list is read into a temporary file, never into memory, then enqueued
  // in parts: it holds a fixed share of the body budget, whatever its size.
  router.post('/internal/v1/audiencelist', async (req: Request, res: Response) => {
    const receivedAt = new Date().toISOString();
    const source = writeKeySource(req);
    const reservation = await deps.bodyBudget.acquire(AUDIENCE_LIST_BUDGET_BYTES, requestGone(req));
    try {
      const incoming = await readRequest(deps, req, source, AUDIENCE_LIST_BODY);
      try {
        await deps.internal.submitAudienceList(incoming.source, incoming.body, receivedAt);
      } finally {
        await incoming.body.close();
      }
    } finally {
      reservation.release();
    }
    sendText(res, 200, 'OK');
  });

  router.post('/internal/v1/retl', async (req: Request, res: Response) => {
    const receivedAt = new Date().toISOString();
    const source = sourceForSourceId(config, deps.sources, req);
    const destinationId = retlDestination(source, req);
    const incoming = await readRequest(deps, req, source, JSON_BODY);
    const batch = await batchOf(deps, incoming, receivedAt);
    await deps.internal.submitRetl(source, destinationId, batch, receivedAt, incoming.bytes);
    sendText(res, 200, 'OK');
  });

  router.post('/internal/v1/replay', async (req: Request, res: Response) => {
    const receivedAtMs = Date.now();
    const source = sourceForSourceId(config, deps.sources, req);
    const original = source.kind === 'replay' && source.originalSourceId ? deps.sources.bySourceId(source.originalSourceId) : undefined;
    // Events never cross workspaces: a replay source of another workspace's source replays nothing.
    if (!original || original.workspaceId !== source.workspaceId) throw new UnauthorizedError('Invalid source id');
    // Replaying into a disabled source is answered as a disabled source is.
    if (!original.enabled) throw new SourceRejectedError('Source is disabled');
    const incoming = await readRequest(deps, req, source, JSON_BODY);
    const events = await batchOf(deps, incoming, new Date(receivedAtMs).toISOString());
    // Replayed events keep the receivedAt and request_ip they carry.
    const request = { ...requestContext(req, receivedAtMs, deps.clientIp, incoming.body as BatchFields), keepOriginal: true };
    await deps.ingest.submit({ source, storeAs: original, events, queue: 'replay', request, bytes: incoming.bytes });
    sendText(res, 200, 'OK');
  });

  router.post('/internal/v1/batch', async (req: Request, res: Response) => {
    const receivedAtMs = Date.now();
    const source = sourceForSourceId(config, deps.sources, req);
    const { body, bytes } = await readRequest(deps, req, source, JSON_BODY);
    if (!Array.isArray(body)) throw new InvalidRequestError('body must be a JSON array of {"properties", "payload"}');
    await deps.ingest.submit({
      source,
      events: body,
      kind: 'enriched',
      queue: 'internalBatch',
      request: requestContext(req, receivedAtMs, deps.clientIp),
      bytes,
    });
    sendText(res, 200, 'OK');
  });

  return router;
}
