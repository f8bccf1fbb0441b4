import type { TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { AliasPayload, BatchPayload, GroupPayload, IdentifyPayload, PagePayload, ScreenPayload, TrackPayload } from './event.schema';
import { AudienceListPayload, ExtractPayload, InternalBatchItem, RetlBatchPayload, RetlRecordPayload } from './internal.schema';
import { addInternalPaths } from './openapi-internal';
import { addOperationsPaths } from './openapi-operations';
import { addPublicPaths } from './openapi-public';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isNullType = (node: Json): boolean => typeof node === 'object' && node !== null && !Array.isArray(node) && node.type === 'null';

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
        // `nullable` only counts beside a `type`: a single remaining member is inlined.
        if (members.length === 1 && typeof members[0] === 'object' && members[0] !== null && !Array.isArray(members[0])) Object.assign(out, members[0]);
        else out.anyOf = members;
        out.nullable = true;
      } else out[key] = convert(value);
    }
    return out;
  };
  return convert(JSON.parse(JSON.stringify(schema)) as Json);
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
      description: 'Event gateway compatible with RudderStack and Segment SDKs. Every accepted event lands once in Postgres.',
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
      },
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
        RetlBatchPayload: toOpenApiSchema(RetlBatchPayload),
        RetlRecord: toOpenApiSchema(RetlRecordPayload),
        InternalBatchPayload: toOpenApiSchema(Type.Array(InternalBatchItem)),
      },
    },
  };
}
