import { Router, type NextFunction, type Request, type Response } from 'express';
import { InvalidJsonError, InvalidRequestError, PayloadTooLargeError, SourceRejectedError, UnauthorizedError } from '@evt/errors';
import { isPlainObject } from '@evt/ingest';
import { ExtractPayload, idProblem, InternalBatchItem, Validator } from '@evt/schemas';
import type { GatewayDeps } from '../app';
import { parseJson, readBodyWithin, requestGone } from '../middleware/body';
import { sendText } from '../middleware/errors';
import { sourceForWriteKey, writeKeyFromBody } from '../middleware/auth';
import { internalWriteKey, sourceForSourceId } from '../middleware/internal-auth';
import { spoolAudienceList, type SpooledAudienceList } from '../request/audience-list-body';
import { requestContext } from '../services/request-context';
import { authenticateAndParse, batchOf } from './events.route';

const extractValidator = new Validator(ExtractPayload);
const internalBatchValidator = new Validator(InternalBatchItem);

// What an audience list being read holds in memory at most: a read chunk, one member or the
// list's other fields (MAX_EVENT_SIZE), and one part being enqueued (about 2 MB of members).
const AUDIENCE_LIST_BUDGET_BYTES = 8 * 1024 * 1024;

/**
 * The internal API RudderStack's own services call: cloud extract, reverse ETL, audience lists,
 * replays of archived events and pre-enriched batches. Each feeds its own queue and worker.
 */
export function internalRoutes(deps: GatewayDeps): Router {
  const router = Router();
  const { config } = deps;

  router.use('/internal', (_req: Request, res: Response, next: NextFunction) => {
    if (config.internalApiEnabled) return next();
    sendText(res, 404, 'Not found');
  });

  router.post('/internal/v1/extract', async (req: Request, res: Response) => {
    const receivedAtMs = Date.now();
    const { source, body, bytes } = await authenticateAndParse(deps, req, internalWriteKey(config, req));
    await deps.ingest.submit({
      source,
      events: [body],
      type: 'extract',
      queue: 'extract',
      validate: (event) => (isPlainObject(event) ? extractValidator.reason(event) : 'event must be an object'),
      request: requestContext(req, receivedAtMs, deps.clientIp),
      bytes,
    });
    sendText(res, 200, 'OK');
  });

  // Exempt from MAX_REQUEST_SIZE, as in RudderStack: list syncs are large by nature. Up to
  // MAX_AUDIENCE_LIST_SIZE, a list is read into a temporary file, never into memory, then enqueued
  // in parts: it holds a fixed share of the body budget, whatever its size.
  router.post('/internal/v1/audiencelist', async (req: Request, res: Response) => {
    const receivedAt = new Date().toISOString();
    const writeKey = internalWriteKey(config, req);
    let source = writeKey !== undefined ? sourceForWriteKey(deps.sources, writeKey) : undefined;
    const reservation = await deps.bodyBudget.acquire(AUDIENCE_LIST_BUDGET_BYTES, requestGone(req));
    try {
      let list: SpooledAudienceList;
      try {
        list = await spoolAudienceList(req, config.maxAudienceListSize, config.maxEventSize);
      } catch (error) {
        if (source && (error instanceof InvalidJsonError || error instanceof PayloadTooLargeError)) {
          const size = Number(req.headers['content-length']) || 0;
          await deps.ingest.recordRejections([deps.ingest.rejection(source, error.publicMessage, undefined, size, receivedAt)], 0);
        }
        throw error;
      }
      try {
        source ??= sourceForWriteKey(deps.sources, writeKeyFromBody(list.fields));
        await deps.internal.submitAudienceList(source, list, receivedAt);
      } finally {
        await list.close();
      }
    } finally {
      reservation.release();
    }
    sendText(res, 200, 'OK');
  });

  router.post('/internal/v1/retl', async (req: Request, res: Response) => {
    const receivedAt = new Date().toISOString();
    const source = sourceForSourceId(config, deps.sources, req);
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
    const bytes = await readBodyWithin(req, config.maxRequestSize, deps.bodyBudget);
    const body = parseJson(bytes);
    const batch = await batchOf(deps, source, body, bytes.length, receivedAt);
    await deps.internal.submitRetl(source, destinationId, batch, receivedAt, bytes.length);
    sendText(res, 200, 'OK');
  });

  router.post('/internal/v1/replay', async (req: Request, res: Response) => {
    const receivedAtMs = Date.now();
    const source = sourceForSourceId(config, deps.sources, req);
    const original = source.kind === 'replay' && source.originalSourceId ? deps.sources.bySourceId(source.originalSourceId) : undefined;
    if (!original) throw new UnauthorizedError('Invalid source id');
    const bytes = await readBodyWithin(req, config.maxRequestSize, deps.bodyBudget);
    const body = parseJson(bytes);
    const events = await batchOf(deps, source, body, bytes.length, new Date(receivedAtMs).toISOString());
    await deps.ingest.submit({
      source,
      storeAs: original,
      events,
      queue: 'replay',
      request: { ...requestContext(req, receivedAtMs, deps.clientIp, body as { sentAt?: unknown; context?: unknown; integrations?: unknown }), keepOriginal: true },
      bytes: bytes.length,
    });
    sendText(res, 200, 'OK');
  });

  router.post('/internal/v1/batch', async (req: Request, res: Response) => {
    const receivedAtMs = Date.now();
    const source = sourceForSourceId(config, deps.sources, req);
    const bytes = await readBodyWithin(req, config.maxRequestSize, deps.bodyBudget);
    const body = parseJson(bytes);
    if (!Array.isArray(body)) throw new InvalidRequestError('body must be a JSON array of {"properties", "payload"}');
    await deps.ingest.submit({
      source,
      events: body,
      queue: 'internalBatch',
      enrich: false,
      validate: (item) => internalBatchValidator.reason(item),
      unwrap: (item) => (item as InternalBatchItem).payload,
      request: requestContext(req, receivedAtMs, deps.clientIp),
      bytes: bytes.length,
    });
    sendText(res, 200, 'OK');
  });

  return router;
}
