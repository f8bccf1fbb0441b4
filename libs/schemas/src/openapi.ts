import type { TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { AliasPayload, BatchPayload, GroupPayload, IdentifyPayload, PagePayload, ScreenPayload, TrackPayload } from './event.schema';
import { AudienceListPayload, ExtractPayload, InternalBatchItem, RetlBatchPayload, RetlRecordPayload } from './internal.schema';
import { NODE_ANSWERS } from './openapi-answers';
import { addInternalPaths } from './openapi-internal';
import { addOperationsPaths } from './openapi-operations';
import { addPublicPaths } from './openapi-public';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (node: Json): node is { [key: string]: Json } => typeof node === 'object' && node !== null && !Array.isArray(node);
const isNullType = (node: Json): boolean => isObject(node) && node.type === 'null';

/** A member of a nullable union, nullable itself: OpenAPI 3.0 reads `nullable` only beside a `type`, and null only from an enum that lists it. */
function nullableMember(member: Json): Json {
  if (!isObject(member)) return member;
  const out: { [key: string]: Json } = { ...member, nullable: true };
  if (Array.isArray(member.enum) && !member.enum.includes(null)) out.enum = [...member.enum, null];
  return out;
}

/** TypeBox emits JSON Schema; OpenAPI 3.0 wants `enum` instead of `const`, `nullable` instead of a null type, and has no `$id`. */
function toOpenApiSchema(schema: TSchema): Json {
  const convert = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(convert);
    if (node === null || typeof node !== 'object') return node;
    const out: { [key: string]: Json } = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$id') continue;
      if (key === 'const') out.enum = [value];
      else if (key === 'anyOf' && Array.isArray(value) && value.some(isNullType)) {
        const members = value.filter((member) => !isNullType(member)).map(convert);
        // `nullable` only counts beside a `type`: a single remaining member is inlined, several are each nullable.
        if (members.length === 1 && isObject(members[0])) Object.assign(out, nullableMember(members[0]));
        else out.anyOf = members.map(nullableMember);
      } else out[key] = convert(value);
    }
    return out;
  };
  return convert(JSON.parse(JSON.stringify(schema)) as Json);
}

/** The gateway takes any objects as rETL records and checks each alone (a bad one is rejected by itself); the document names their shape. */
function retlBatchSchema(): Json {
  const schema = toOpenApiSchema(RetlBatchPayload) as { [key: string]: Json };
  const batch = {
    type: 'array',
    items: { $ref: '#/components/schemas/RetlRecord' },
    description: 'Records; one that is not a valid RetlRecord is rejected alone.',
  };
  return { ...schema, properties: { batch } };
}

/** The OpenAPI 3 description of the gateway, generated from the same schemas the gateway validates with. */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  addPublicPaths(paths);
  addInternalPaths(paths);
  addOperationsPaths(paths);

  return {
    openapi: '3.0.3',
    info: {
      title: 'RudderStack-compatible HTTP API',
      version,
      description:
        'Event gateway compatible with RudderStack and Segment SDKs. Every accepted event lands once in Postgres. Any route may also get the 408 and 431 that Node answers before routing (see components.responses).',
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        writeKeyAuth: {
          type: 'http',
          scheme: 'basic',
          description: 'Write Key Basic Authentication: the write key is the user name, the password is ignored.',
        },
        sourceIDAuth: { type: 'http', scheme: 'basic', description: 'SourceID Basic Authentication: the source id is the user name.' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN as a Bearer token, required only when METRICS_TOKEN is set.' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN as a Bearer token (the queue dashboard).' },
        adminBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'ADMIN_TOKEN as the password of HTTP Basic, any user name (the queue dashboard, from a browser).',
        },
      },
      responses: NODE_ANSWERS,
      schemas: {
        IdentifyPayload: toOpenApiSchema(IdentifyPayload),
        TrackPayload: toOpenApiSchema(TrackPayload),
        PagePayload: toOpenApiSchema(PagePayload),
        ScreenPayload: toOpenApiSchema(ScreenPayload),
        GroupPayload: toOpenApiSchema(GroupPayload),
        AliasPayload: toOpenApiSchema(AliasPayload),
        BatchPayload: toOpenApiSchema(BatchPayload),
        ExtractPayload: toOpenApiSchema(ExtractPayload),
        AudienceListPayload: toOpenApiSchema(AudienceListPayload),
        RetlBatchPayload: retlBatchSchema(),
        RetlRecord: toOpenApiSchema(RetlRecordPayload),
        InternalBatchPayload: toOpenApiSchema(Type.Array(InternalBatchItem)),
      },
    },
  };
}
