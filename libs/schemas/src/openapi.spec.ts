import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument } from './openapi';

interface SeedOperation {
  path: string;
  operationId: string;
  security: string;
  responses: string[];
}

/**
 * The user's seed is OpenAPI 3 YAML whose line breaks were lost, so it is read with regexes:
 * each `/path: post:` starts an operation that runs up to the next one (or `components:`).
 */
function readSeed(): SeedOperation[] {
  const text = readFileSync(join(__dirname, '..', 'seed', 'rudderstack-http-api.openapi.txt'), 'utf8');
  const paths = text.slice(text.indexOf(' paths: '), text.indexOf(' components: '));
  const starts = [...paths.matchAll(/ (\/[A-Za-z0-9/_-]+): post: /g)];
  return starts.map((start, i) => {
    const body = paths.slice(start.index, i + 1 < starts.length ? starts[i + 1].index : undefined);
    return {
      path: start[1],
      operationId: /operationId: (\w+)/.exec(body)?.[1] ?? '',
      security: /security: - (\w+)/.exec(body)?.[1] ?? '',
      responses: [...body.matchAll(/'(\d{3})':/g)].map((match) => match[1]),
    };
  });
}

interface Operation {
  operationId: string;
  security: Array<Record<string, unknown>>;
  responses: Record<string, unknown>;
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content: Record<string, unknown> };
}

/** Every `$id` and `const` key anywhere in `node`, as dotted paths. */
function forbiddenKeys(node: unknown, path: string): string[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => forbiddenKeys(item, `${path}.${i}`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => [
    ...(key === '$id' || key === 'const' ? [`${path}.${key}`] : []),
    ...forbiddenKeys(value, `${path}.${key}`),
  ]);
}

describe('buildOpenApiDocument', () => {
  const seed = readSeed();
  const publicSeed = seed.filter((operation) => !operation.path.startsWith('/internal/'));
  const doc = buildOpenApiDocument('1.2.3') as {
    openapi: string;
    info: { version: string };
    paths: Record<string, { post?: Operation }>;
    components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
  };

  it('reads the seed: the public routes with their ids, security and answers', () => {
    expect(publicSeed.map(({ path, operationId, security }) => [path, operationId, security])).toEqual([
      ['/v1/identify', 'Identify', 'writeKeyAuth'],
      ['/v1/track', 'Track', 'writeKeyAuth'],
      ['/v1/page', 'Page', 'writeKeyAuth'],
      ['/v1/screen', 'Screen', 'writeKeyAuth'],
      ['/v1/group', 'Group', 'writeKeyAuth'],
      ['/v1/alias', 'Alias', 'writeKeyAuth'],
      ['/v1/batch', 'Batch', 'writeKeyAuth'],
    ]);
    expect(new Set(publicSeed.map((operation) => operation.responses.join(',')))).toEqual(new Set(['200,400,401,404,413,429']));
  });

  it('is an OpenAPI 3.0 document carrying the given version', () => {
    expect([doc.openapi, doc.info.version]).toEqual(['3.0.3', '1.2.3']);
  });

  it('reads the seed: the internal routes with their ids and security', () => {
    expect(seed.filter((operation) => operation.path.startsWith('/internal/')).map(({ path, operationId, security }) => [path, operationId, security])).toEqual(
      [
        ['/internal/v1/extract', 'Extract', 'writeKeyAuth'],
        ['/internal/v1/retl', 'Retl', 'sourceIDAuth'],
        ['/internal/v1/audiencelist', 'AudienceList', 'writeKeyAuth'],
        ['/internal/v1/replay', 'Replay', 'sourceIDAuth'],
        ['/internal/v1/batch', 'InternalBatch', 'sourceIDAuth'],
      ],
    );
  });

  it.each(seed.map((operation) => [operation.path, operation] as const))('describes POST %s as the seed does', (path, operation) => {
    const post = doc.paths[path]?.post;
    expect(post?.operationId).toBe(operation.operationId);
    expect(post?.security).toEqual([{ [operation.security]: [] }]);
    // Every answer of the seed; the generated document adds 503, and for the internal batch the
    // 404 (disabled source) and 413 (size) it really gives.
    const codes = Object.keys(post?.responses ?? {});
    expect(operation.responses.filter((code) => !codes.includes(code))).toEqual([]);
    const added = path === '/internal/v1/batch' ? ['404', '413', '503'] : ['503'];
    expect(codes.filter((code) => !operation.responses.includes(code))).toEqual(added);
  });

  it('defines both security schemes of the seed as HTTP basic, the metrics token as bearer, and the admin token as bearer or basic', () => {
    expect(doc.components.securitySchemes).toEqual({
      writeKeyAuth: expect.objectContaining({ type: 'http', scheme: 'basic' }),
      sourceIDAuth: expect.objectContaining({ type: 'http', scheme: 'basic' }),
      metricsToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      adminToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      adminBasic: expect.objectContaining({ type: 'http', scheme: 'basic' }),
    });
  });

  it('says the operations without credentials are public, /metrics takes its token or none, and the queue dashboard its token', () => {
    const get = (path: string) => (doc.paths[path] as { get?: Operation }).get;
    const publicGets = ['/health/live', '/health/ready', '/health', '/version', '/pixel/v1/track', '/pixel/v1/page', '/v1/projects/{writeKey}/settings'];
    expect(publicGets.map((path) => [path, get(path)?.security])).toEqual(publicGets.map((path) => [path, []]));
    expect(get('/metrics')?.security).toEqual([{ metricsToken: [] }, {}]);
    expect(get('/admin/queues')?.security).toEqual([{ adminToken: [] }, { adminBasic: [] }]);
    expect(doc.paths['/beacon/v1/batch'].post?.security).toEqual([]);
  });

  it('documents a 4xx on the pixel and health routes: what Node answers before any route', () => {
    for (const path of ['/pixel/v1/track', '/pixel/v1/page', '/health/live', '/health/ready', '/health']) {
      const responses = (doc.paths[path] as { get: Operation }).get.responses;
      expect([path, responses['408'], responses['431']]).toEqual([
        path,
        { $ref: '#/components/responses/RequestTimeout' },
        { $ref: '#/components/responses/RequestHeaderFieldsTooLarge' },
      ]);
    }
    expect(Object.keys((doc.components as { responses?: object }).responses ?? {})).toEqual(['RequestTimeout', 'RequestHeaderFieldsTooLarge']);
  });

  it('gives every 429 and 503 of an event route the Retry-After header', () => {
    const answers = Object.values(doc.paths).flatMap((item) => (item.post ? [item.post.responses] : []));
    const retried = answers.flatMap((responses) => ['429', '503'].filter((code) => code in responses).map((code) => responses[code]));
    expect(retried.length).toBeGreaterThan(20);
    for (const answer of retried) expect(answer).toMatchObject({ headers: { 'Retry-After': { schema: { type: 'integer' } } } });
  });

  it('describes the headers the internal routes read', () => {
    const headers = (path: string) =>
      (doc.paths[path].post?.parameters ?? []).filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name);
    expect(headers('/internal/v1/extract')).toEqual(['X-Internal-Token']);
    expect(headers('/internal/v1/audiencelist')).toEqual(['X-Internal-Token']);
    expect(headers('/internal/v1/retl')).toEqual(['X-Internal-Token', 'X-Rudder-Source-Id', 'X-Rudder-Destination-Id']);
    expect(headers('/internal/v1/replay')).toEqual(['X-Internal-Token', 'X-Rudder-Source-Id']);
    expect(headers('/internal/v1/batch')).toEqual(['X-Internal-Token', 'X-Rudder-Source-Id']);
  });

  it('takes the beacon as text/plain, as navigator.sendBeacon sends it', () => {
    const content = doc.paths['/beacon/v1/batch'].post?.requestBody?.content ?? {};
    expect(Object.keys(content)).toEqual(['text/plain', 'application/json']);
    expect(content['text/plain']).toEqual({ schema: { $ref: '#/components/schemas/BatchPayload' } });
  });

  it('carries the MIT license of package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { license: string };
    expect((doc.info as { license?: { name: string } }).license?.name).toBe(pkg.license);
  });

  it('defines every schema an operation refers to', () => {
    const refs = Object.values(doc.paths).flatMap((item) => {
      const schema = (item.post as { requestBody?: { content: Record<string, { schema: { $ref: string } }> } } | undefined)?.requestBody?.content[
        'application/json'
      ].schema.$ref;
      return schema ? [schema] : [];
    });
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((ref) => !(ref.replace('#/components/schemas/', '') in doc.components.schemas))).toEqual([]);
  });

  it('uses no $id and no const in any schema (OpenAPI 3.0 has neither)', () => {
    expect(Object.keys(doc.components.schemas).sort()).toEqual([
      'AliasPayload',
      'AudienceListPayload',
      'BatchPayload',
      'ExtractPayload',
      'GroupPayload',
      'IdentifyPayload',
      'InternalBatchPayload',
      'PagePayload',
      'RetlBatchPayload',
      'RetlRecord',
      'ScreenPayload',
      'TrackPayload',
    ]);
    expect(forbiddenKeys(doc.components.schemas, 'schemas')).toEqual([]);
  });

  it('writes a nullable id as `nullable`, not as a null type (OpenAPI 3.0 has none), with its bound', () => {
    const track = doc.components.schemas.TrackPayload as { properties: Record<string, Record<string, unknown>> };
    expect(JSON.stringify(doc.components.schemas)).not.toContain('"type":"null"');
    // Several members: each is nullable (OpenAPI 3.0 reads `nullable` only beside a `type`).
    expect(track.properties.userId).toMatchObject({
      anyOf: [
        { type: 'string', format: 'storable-id', nullable: true },
        { type: 'number', nullable: true },
      ],
    });
    expect(track.properties.userId.nullable).toBeUndefined();
    // A nullable enum lists null too, as OpenAPI 3.0.3 asks.
    const retl = doc.components.schemas.RetlRecord as { properties: { action: { anyOf: unknown[] } } };
    expect(retl.properties.action.anyOf[0]).toEqual({ type: 'string', enum: ['insert', null], nullable: true });
    expect(track.properties.messageId).toMatchObject({ anyOf: [{ type: 'string', format: 'storable-id' }, { type: 'number' }] });
    expect(track.properties.messageId.description).toContain('At most 1024 bytes of UTF-8');
    // A field that is one type or null is that type, nullable: OpenAPI 3.0 reads `nullable` only beside a `type`.
    expect(track.properties.properties).toMatchObject({ type: 'object', nullable: true });
    expect(track.properties.properties.anyOf).toBeUndefined();
  });

  it('writes the batch event type as an enum, not const', () => {
    const batch = doc.components.schemas.BatchPayload as { properties: { batch: { items: { properties: { type: { anyOf: unknown[] } } } } } };
    expect(batch.properties.batch.items.properties.type.anyOf).toEqual([
      { type: 'string', enum: ['identify'] },
      { type: 'string', enum: ['track'] },
      { type: 'string', enum: ['page'] },
      { type: 'string', enum: ['screen'] },
      { type: 'string', enum: ['group'] },
      { type: 'string', enum: ['alias'] },
    ]);
  });
});
