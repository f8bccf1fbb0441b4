import fc from 'fast-check';
import { DestinationsRepository, SourcesRepository, WorkspacesRepository, type DbClient } from '@evt/db';
import { basicAuth } from './fixtures';

// Good and hostile events mixed in the same requests, on every route that queues events, so that
// they share coalesced jobs. A request is generated as a plan (plain data fast-check can shrink)
// and rendered with fresh markers at send time: every event carries a marker, `pmk_<run>_<n>`,
// by which its row is found in events, retl_records, audience_members or rejected_events.

/** Where the poison traffic goes: event sources in two workspaces, a replay source, a rETL source. */
export interface PoisonTargets {
  sources: Array<{ id: string; workspaceId: string; writeKey: string }>;
  replay: { id: string; originalSourceId: string; workspaceId: string };
  retl: { id: string; workspaceId: string; destinationId: string };
}

/** Creates the poison targets in `db`: two workspaces, two event sources in each, a replay and a rETL source. */
export async function createPoisonTargets(db: DbClient, name = 'poison'): Promise<PoisonTargets> {
  const workspaces = new WorkspacesRepository(db.db);
  const sources = new SourcesRepository(db.db);
  const unique = `${name}-${process.pid}-${Date.now()}`;
  const [a, b] = [await workspaces.create(`${unique}-a`), await workspaces.create(`${unique}-b`)];
  const eventSources = [];
  for (const [i, workspace] of [a, a, b, b].entries()) eventSources.push(await sources.create({ workspaceId: workspace.id, name: `${unique}-${i}` }));
  const replay = await sources.create({ workspaceId: b.id, name: `${unique}-replay`, kind: 'replay', originalSourceId: eventSources[2].id });
  const retl = await sources.create({ workspaceId: b.id, name: `${unique}-retl`, kind: 'retl' });
  const destination = await new DestinationsRepository(db.db).add(retl.id, `${unique}-destination`);
  return {
    sources: eventSources.map((s) => ({ id: s.id, workspaceId: s.workspaceId, writeKey: s.writeKey })),
    // Replayed events are stored under the original source, in its workspace.
    replay: { id: replay.id, originalSourceId: eventSources[2].id, workspaceId: eventSources[2].workspaceId },
    retl: { id: retl.id, workspaceId: retl.workspaceId, destinationId: destination.id },
  };
}

export const POISON_ROUTES = ['track', 'identify', 'group', 'alias', 'page', 'batch', 'extract', 'replay', 'internal-batch', 'retl', 'audiencelist'] as const;
export type PoisonRoute = (typeof POISON_ROUTES)[number];
type EventType = 'track' | 'identify' | 'group' | 'alias' | 'page';

/** What makes an event hostile. */
export type Hostility =
  | { kind: 'long-id'; fieldIndex: number; id: string }
  | { kind: 'bad-text-id'; fieldIndex: number; id: string }
  | { kind: 'bad-value'; value: string }
  | { kind: 'bad-key'; key: string }
  | { kind: 'number'; text: string }
  | { kind: 'nesting'; over: boolean }
  | { kind: 'proto-keys' }
  | { kind: 'internal-id-type'; userId42: boolean };

export interface ItemPlan {
  type: EventType;
  hostility?: Hostility;
}

export interface RequestPlan {
  route: PoisonRoute;
  /** Which event source sends it (modulo their number). */
  source: number;
  items: ItemPlan[];
}

/** Strings of more than 1,024 UTF-8 bytes: random, repetitive, multi-byte; and some of exactly 1,024. */
export const longId: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom('x', 'é', '€', '😀', 'ab', '\u4e2d'), fc.integer({ min: 1025, max: 6000 }))
    .map(([unit, bytes]) => unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)))),
  fc.string({ unit: 'grapheme', minLength: 1025, maxLength: 2000 }),
  fc.string({ minLength: 1025, maxLength: 5000 }),
  fc.string({ unit: 'binary', minLength: 400, maxLength: 1200 }).filter((s) => Buffer.byteLength(s) > 1024),
  // At the bound: 1,024 bytes (storable) and one more.
  fc.constantFrom('x'.repeat(1024), '€'.repeat(341) + 'x', 'x'.repeat(1025), '€'.repeat(342)),
);

/** Text holding NUL or an unpaired surrogate, alone or inside ordinary text. */
export const badText: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 12 }), fc.constantFrom('\u0000', '\ud800', '\udfff', '\udbff', '\udc00', 'a\u0000b', '\ud83d'), fc.string({ maxLength: 12 }))
  .map(([before, bad, after]) => `${before}${bad}${after}`);

/** Numbers as JSON text: beyond a double (1e400 parses as Infinity), huge but finite, tiny, long integers. */
export const numberText = fc.constantFrom(
  '1e400',
  '-1e400',
  '1e308',
  '-1.7976931348623157e308',
  '5e-324',
  '123456789012345678901234567890',
  '1E+400',
  '0.1e-400',
);

export const hostility: fc.Arbitrary<Hostility> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('long-id' as const), fieldIndex: fc.nat(4), id: longId }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('bad-text-id' as const), fieldIndex: fc.nat(4), id: badText }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bad-value' as const), value: badText }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bad-key' as const), key: badText }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('number' as const), text: numberText }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nesting' as const), over: fc.constantFrom(false, false, true) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'proto-keys' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('internal-id-type' as const), userId42: fc.boolean() }) },
);

const BATCH_ROUTES: readonly PoisonRoute[] = ['batch', 'replay', 'internal-batch', 'retl'];

/** A request plan: one event on single-event routes, up to six (good and hostile mixed) on batch routes. */
export const requestPlan: fc.Arbitrary<RequestPlan> = fc
  .record({
    route: fc.constantFrom(...POISON_ROUTES),
    source: fc.nat(3),
    items: fc.array(
      fc.record(
        { type: fc.constantFrom<EventType>('track', 'identify', 'group', 'alias', 'page'), hostility: fc.option(hostility, { nil: undefined, freq: 2 }) },
        { requiredKeys: ['type'] },
      ),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map((plan) => (BATCH_ROUTES.includes(plan.route) ? plan : { ...plan, items: plan.items.slice(0, 1) }));

/** One event of a rendered request, and where to find it. */
export interface PoisonItem {
  good: boolean;
  /** What makes it hostile ('good' for a good one), for reports. */
  hostility: string;
  route: PoisonRoute;
  marker: string;
  store: 'events' | 'retl_records' | 'audience_members';
  /** The source and workspace it is stored under. */
  sourceId: string;
  workspaceId: string;
  /** messageId (events), recordId (rETL) or audienceId (audience lists), as sent. */
  key: unknown;
  /** The profile row a good identify or group makes. */
  profile?: { table: 'users' | 'groups'; id: string };
  /** The item as JSON.parse reads the sent text (the event; for internal batches the payload; for rETL the fields; for lists the members). */
  sent(parsed: unknown): unknown;
  /** The whole request is refused for this item (JSON nested too deep). */
  refusesRequest: boolean;
}

export interface PoisonRequest {
  route: PoisonRoute;
  path: string;
  headers: Record<string, string>;
  body: string;
  items: PoisonItem[];
}

// A value that stands for raw JSON text (1e400, deep nesting) until the body is serialised.
const RAW = '\u0001raw:';
const raw = (text: string) => `${RAW}${text}`;
function serialise(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001raw:((?:[^"\\]|\\.)*)"/g, (_, text: string) => JSON.parse(`"${text}"`) as string);
}

/** An own, enumerable property, whatever the key (`__proto__` included). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const ID_FIELDS: Record<PoisonRoute, string[]> = {
  track: ['messageId', 'userId', 'anonymousId'],
  page: ['messageId', 'userId', 'anonymousId'],
  identify: ['messageId', 'userId', 'anonymousId'],
  group: ['messageId', 'userId', 'groupId', 'anonymousId'],
  alias: ['messageId', 'userId', 'previousId'],
  batch: [],
  extract: ['messageId'],
  replay: ['messageId', 'userId', 'anonymousId'],
  'internal-batch': ['messageId', 'userId', 'anonymousId'],
  retl: ['recordId', 'messageId'],
  audiencelist: ['audienceId', 'messageId'],
};

/** The depth of the object an item's hostile values are put in, counted from the body (for nesting to the limit). */
const CONTAINER_DEPTH: Record<PoisonRoute, number> = {
  track: 2,
  page: 2,
  identify: 2,
  group: 2,
  alias: 2,
  extract: 2,
  audiencelist: 5,
  batch: 4,
  replay: 4,
  'internal-batch': 4,
  retl: 4,
};

function describe(h: Hostility | undefined, field: string | undefined): string {
  if (!h) return 'good';
  switch (h.kind) {
    case 'long-id':
      return `${field} of ${Buffer.byteLength(h.id)} bytes`;
    case 'bad-text-id':
      return `${field} ${JSON.stringify(h.id)}`;
    case 'bad-value':
      return `value ${JSON.stringify(h.value)}`;
    case 'bad-key':
      return `key ${JSON.stringify(h.key)}`;
    case 'number':
      return `number ${h.text}`;
    case 'nesting':
      return h.over ? 'nesting over the limit' : 'nesting at the limit';
    case 'proto-keys':
      return '__proto__ and constructor keys';
    case 'internal-id-type':
      return h.userId42 ? 'userId 42' : 'anonymousId null';
  }
}

/**
 * Renders `plan` for `targets`, markers `pmk_<run>_<n>` numbered from `next()`: good events get
 * unique ids; a hostile one is a good one with its hostility applied.
 */
export function renderRequest(plan: RequestPlan, targets: PoisonTargets, run: string, next: () => number, maxDepth: number): PoisonRequest {
  const source = targets.sources[plan.source % targets.sources.length];
  const items: PoisonItem[] = [];
  const elements: unknown[] = [];
  const route = plan.route;
  const eventRoute = route === 'track' || route === 'page' || route === 'identify' || route === 'group' || route === 'alias';
  plan.items.forEach((itemPlan, index) => {
    const marker = `pmk_${run}_${next()}`;
    const type: EventType = eventRoute ? route : itemPlan.type;
    const h = itemPlan.hostility;
    const fields = ID_FIELDS[route === 'batch' ? type : route];
    const field = h && (h.kind === 'long-id' || h.kind === 'bad-text-id') ? fields[h.fieldIndex % fields.length] : undefined;
    const properties: Record<string, unknown> = { poisonMarker: marker, n: index };
    const event: Record<string, unknown> = {
      type,
      messageId: `msg-${marker}`,
      userId: `user-${marker}`,
      anonymousId: `anon-${source.id}`,
      event: 'Poison Test',
      properties,
    };
    if (type === 'identify') event.traits = { poisonMarker: marker, plan: 'gold' };
    if (type === 'group') Object.assign(event, { groupId: `group-${marker}`, traits: { poisonMarker: marker, name: 'Acme' } });
    if (type === 'alias') event.previousId = `previous-${marker}`;
    if (type === 'page') event.name = 'Home';
    // Where hostile values go: the event's properties, a record's fields, a list's properties.
    let container = properties;
    const containerDepth = CONTAINER_DEPTH[route];
    let element: unknown = event;
    let sent: (parsed: unknown) => unknown;
    let store: PoisonItem['store'] = 'events';
    let storedUnder = { sourceId: source.id, workspaceId: source.workspaceId };
    let key: unknown;

    if (route === 'retl') {
      const record: Record<string, unknown> = { type: 'record', recordId: `rec-${marker}`, action: 'insert', messageId: `msg-${marker}`, fields: properties };
      element = record;
      store = 'retl_records';
      storedUnder = { sourceId: targets.retl.id, workspaceId: targets.retl.workspaceId };
      sent = (parsed) => (parsed as { batch: Array<{ fields: unknown }> }).batch[index].fields;
      if (field) record[field] = h && 'id' in h ? h.id : record[field];
      key = record.recordId;
    } else if (route === 'audiencelist') {
      const list = {
        messageId: `msg-${marker}`,
        properties: {
          audienceId: `aud-${marker}`,
          poisonMarker: marker,
          listData: { add: [{ EMAIL: `${marker}-0@example.com` }, { EMAIL: `${marker}-1@example.com`, PHONE: '+15550100' }] },
        },
      };
      element = list;
      store = 'audience_members';
      container = list.properties.listData.add[1] as Record<string, unknown>;
      sent = (parsed) => (parsed as typeof list).properties.listData.add;
      if (field === 'audienceId') list.properties.audienceId = (h as { id: string }).id;
      else if (field === 'messageId') list.messageId = (h as { id: string }).id;
      key = list.properties.audienceId;
    } else if (route === 'internal-batch') {
      Object.assign(event, { receivedAt: '2026-01-02T03:04:05.678Z', request_ip: '203.0.113.9', rudderId: 'f5f0a6a2-1c38-4b83-9d0c-2b2c4a1f9e11' });
      element = { properties: { sourceID: source.id, workspaceID: source.workspaceId }, payload: event };
      sent = (parsed) => (parsed as Array<{ payload: unknown }>)[index].payload;
      if (field) event[field] = (h as { id: string }).id;
      key = event.messageId;
    } else {
      if (route === 'extract') {
        event.type = 'extract';
        delete event.userId;
      }
      if (route === 'replay') storedUnder = { sourceId: targets.replay.originalSourceId, workspaceId: targets.replay.workspaceId };
      sent = eventRoute || route === 'extract' ? (parsed) => parsed : (parsed) => (parsed as { batch: unknown[] }).batch[index];
      if (field) event[field] = (h as { id: string }).id;
      key = event.messageId;
    }

    if (h?.kind === 'bad-value') container.text = h.value;
    if (h?.kind === 'bad-key') put(container, h.key, 1);
    if (h?.kind === 'number') container.big = raw(h.text);
    if (h?.kind === 'nesting') {
      const levels = maxDepth - containerDepth + (h.over ? 1 : 0);
      container.deep = raw(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
    }
    if (h?.kind === 'proto-keys') {
      put(container, '__proto__', { polluted: marker });
      put(container, 'constructor', { prototype: { polluted: marker } });
      if (element === event) put(event, '__proto__', { userId: 'polluter' });
    }
    if (h?.kind === 'internal-id-type') {
      if (route === 'internal-batch') event[h.userId42 ? 'userId' : 'anonymousId'] = h.userId42 ? 42 : null;
      else container.userId = h.userId42 ? 42 : null; // elsewhere a plain property: harmless, stored as sent
    }
    const good = h === undefined;
    const profile =
      good && (route === 'identify' || route === 'group' || (route === 'batch' && (type === 'identify' || type === 'group')))
        ? type === 'identify'
          ? { table: 'users' as const, id: event.userId as string }
          : { table: 'groups' as const, id: event.groupId as string }
        : undefined;
    elements.push(element);
    items.push({
      good,
      hostility: describe(h, field),
      route,
      marker,
      store,
      ...storedUnder,
      key,
      profile,
      sent,
      refusesRequest: h?.kind === 'nesting' && h.over,
    });
  });

  const body = serialise(BATCH_ROUTES.includes(route) ? (route === 'internal-batch' ? elements : { batch: elements }) : elements[0]);
  const byWriteKey = { authorization: basicAuth(source.writeKey) };
  const json = { 'content-type': 'application/json' };
  const request = (path: string, headers: Record<string, string>): PoisonRequest => ({ route, path, headers: { ...json, ...headers }, body, items });
  switch (route) {
    case 'batch':
      return request('/v1/batch', byWriteKey);
    case 'extract':
      return request('/internal/v1/extract', byWriteKey);
    case 'audiencelist':
      return request('/internal/v1/audiencelist', byWriteKey);
    case 'replay':
      return request('/internal/v1/replay', { 'x-rudder-source-id': targets.replay.id });
    case 'internal-batch':
      return request('/internal/v1/batch', { 'x-rudder-source-id': source.id });
    case 'retl':
      return request('/internal/v1/retl', { 'x-rudder-source-id': targets.retl.id, 'x-rudder-destination-id': targets.retl.destinationId });
    default:
      return request(`/v1/${route}`, byWriteKey);
  }
}
