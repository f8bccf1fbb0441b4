import type { TestEnv } from '@evt/testing';

/** A row of `events` reduced to what the browser tests check. */
// A type, not an interface: the query's row type must be a plain record.
export type BrowserEvent = {
  type: string;
  /** The track's event or the page's name. */
  label: string | null;
  userId: string | null;
  anonymousId: string | null;
  library: string | null;
  pagePath: string | null;
  userAgent: string | null;
  properties: Record<string, unknown> | null;
  /** `traits`, or `context.traits` where RudderStack's SDKs put an identify's traits. */
  traits: Record<string, unknown> | null;
};

/** Every event stored for the source, ordered by type, then event or name. */
export async function browserEvents(env: TestEnv, sourceId: string): Promise<BrowserEvent[]> {
  return env.db.query<BrowserEvent>(
    `select type, coalesce(event, name) as label, user_id as "userId", anonymous_id as "anonymousId",
            payload #>> '{context,library,name}' as library,
            payload #>> '{context,page,path}' as "pagePath",
            payload #>> '{context,userAgent}' as "userAgent",
            payload -> 'properties' as properties,
            coalesce(payload -> 'traits', payload #> '{context,traits}') as traits
       from events where source_id = $1
      order by type collate "C", coalesce(event, name) collate "C"`,
    [sourceId],
  );
}
