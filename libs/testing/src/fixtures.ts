import { DestinationsRepository, SourcesRepository, WorkspacesRepository, type Destination, type Source, type SourceKind } from '@evt/db';
import type { TestEnv } from './test-env';

let counter = 0;

/** A workspace and a source in the test's database, as `sources create` makes them. */
export async function createSource(
  env: TestEnv,
  options: {
    kind?: SourceKind;
    enabled?: boolean;
    rateLimitEvents?: number;
    rateLimitWindowSeconds?: number;
    originalSourceId?: string;
    workspaceId?: string;
  } = {},
): Promise<Source> {
  counter += 1;
  const sources = new SourcesRepository(env.db.db);
  // `workspaceId`, else a replay source's original's (the gateway refuses a replay of another workspace's source), else a workspace of its own.
  const original = options.originalSourceId ? await sources.find(options.originalSourceId) : undefined;
  const workspaceId =
    options.workspaceId ?? original?.workspaceId ?? (await new WorkspacesRepository(env.db.db).create(`workspace-${process.pid}-${counter}-${Date.now()}`)).id;
  const source = await sources.create({
    workspaceId,
    name: `source-${counter}`,
    kind: options.kind,
    originalSourceId: options.originalSourceId,
    rateLimitEvents: options.rateLimitEvents,
    rateLimitWindowSeconds: options.rateLimitWindowSeconds,
  });
  if (options.enabled === false) return (await sources.setEnabled(source.id, false)) ?? source;
  return source;
}

/** A destination of a (rETL) source. */
export async function createDestination(env: TestEnv, sourceId: string, options: { enabled?: boolean } = {}): Promise<Destination> {
  const destinations = new DestinationsRepository(env.db.db);
  const destination = await destinations.add(sourceId, `destination-${++counter}`);
  if (options.enabled === false) return (await destinations.setEnabled(destination.id, false)) ?? destination;
  return destination;
}

/** `Authorization: Basic base64("<writeKey>:")`, as RudderStack SDKs send it. */
export function basicAuth(user: string, password = ''): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
