import type { IncomingMessage, ServerResponse } from 'node:http';
import { EVENT_ROUTES, type EventRoute } from '@evt/schemas';
import type { GatewayDeps } from '../deps';
import { answerError, sendText } from '../http/answer';
import { knownStorable } from '../http/json';
import { sourceBeforeBody, writeKeyFromHeader, writeKeyFromQuery } from '../request/auth';
import { requestContext, type BatchFields } from '../request/context';
import { batchOf, JSON_BODY, readRequest } from '../request/read';

/** A route handler on Node's own request and response: the hot path does not go through Express. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

// sendBeacon cannot set headers: the beacon's write key comes in the query (a header still wins if present).
const headerOrQuery = (req: IncomingMessage) => writeKeyFromHeader(req) ?? writeKeyFromQuery(req);

/**
 * The public event routes by path (all POST), one handler per entry of EVENT_ROUTES (libs/schemas,
 * which the OpenAPI document is built from too). Each handler answers itself, errors included.
 */
export function eventHandlers(deps: GatewayDeps): Map<string, RawHandler> {
  const handlers = new Map<string, RawHandler>();
  for (const route of EVENT_ROUTES) {
    const handler = route.kind === 'single' ? singleEvent(deps, route) : batch(deps, route);
    handlers.set(route.path, (req, res) => handler(req, res).catch((error: unknown) => answerError(res, error, deps.logger)));
  }
  return handlers;
}

/**
 * Answers 200 once `submit` (reading, checking and handing over the request's events) has
 * resolved. The events are not in this frame, which waits for Redis: `submit` returns the
 * ingest's promise instead of awaiting it, so nothing keeps them alive meanwhile (see IngestService).
 */
function answeringOk(submit: (req: IncomingMessage) => Promise<void>): RawHandler {
  return async (req, res) => {
    await submit(req);
    sendText(res, 200, 'OK');
  };
}

/** One event, of the route's type. */
function singleEvent(deps: GatewayDeps, { type }: EventRoute): RawHandler {
  return answeringOk(async (req) => {
    const receivedAtMs = Date.now();
    const { source, body, bytes } = await readRequest(deps, req, sourceBeforeBody(deps.sources, writeKeyFromHeader(req)), JSON_BODY);
    return deps.ingest.submit({
      source,
      events: [body],
      request: requestContext(req, receivedAtMs, deps.clientIp, undefined, type),
      bytes,
      storable: knownStorable(body),
    });
  });
}

/** `{"batch": [...], "sentAt"?, "context"?, "integrations"?}`. */
function batch(deps: GatewayDeps, route: EventRoute): RawHandler {
  const writeKeyOf = route.writeKeyIn === 'headerOrQuery' ? headerOrQuery : writeKeyFromHeader;
  return answeringOk(async (req) => {
    const receivedAtMs = Date.now();
    const incoming = await readRequest(deps, req, sourceBeforeBody(deps.sources, writeKeyOf(req)), JSON_BODY);
    const events = await batchOf(deps, incoming, new Date(receivedAtMs).toISOString());
    const { source, body, bytes } = incoming;
    return deps.ingest.submit({
      source,
      events,
      request: requestContext(req, receivedAtMs, deps.clientIp, body as BatchFields),
      bytes,
      storable: knownStorable(body),
    });
  });
}
