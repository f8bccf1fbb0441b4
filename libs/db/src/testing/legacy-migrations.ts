// Frozen copy of the hand-written migrations that shipped before drizzle-kit generated them
// (0001_init, 0002_internal_api), and of their runner's bookkeeping. Tests only: they build a
// database the old way to prove that migrate() adopts it. Never edit.

export const LEGACY_BOOKKEEPING = 'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())';

const init = {
  id: '0001_init',
  sql: `
CREATE TABLE workspaces (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sources (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES workspaces(id),
  name text NOT NULL,
  write_key text NOT NULL UNIQUE,
  kind text NOT NULL DEFAULT 'event_stream'
    CHECK (kind IN ('event_stream', 'webhook', 'replay', 'retl', 'extract')),
  enabled boolean NOT NULL DEFAULT true,
  original_source_id text REFERENCES sources(id),
  rate_limit_events integer CHECK (rate_limit_events IS NULL OR rate_limit_events > 0),
  rate_limit_window_seconds integer NOT NULL DEFAULT 60 CHECK (rate_limit_window_seconds > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sources_workspace_id_name_key UNIQUE (workspace_id, name),
  CONSTRAINT sources_replay_has_original CHECK (kind <> 'replay' OR original_source_id IS NOT NULL)
);

CREATE TABLE destinations (
  id text PRIMARY KEY,
  source_id text NOT NULL REFERENCES sources(id),
  name text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- No foreign key to sources: a per-row check would tax the hottest insert for nothing
-- (the gateway only enqueues events of known sources).
CREATE TABLE events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id text NOT NULL,
  source_id text NOT NULL,
  message_id text NOT NULL,
  type text NOT NULL,
  user_id text,
  anonymous_id text,
  rudder_id uuid,
  event text,
  name text,
  received_at timestamptz NOT NULL,
  sent_at timestamptz,
  original_timestamp timestamptz,
  "timestamp" timestamptz,
  request_ip text,
  payload jsonb NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_source_id_message_id_key UNIQUE (source_id, message_id)
);
CREATE INDEX events_source_id_received_at_idx ON events (source_id, received_at);

CREATE TABLE users (
  workspace_id text NOT NULL,
  user_id text NOT NULL,
  anonymous_id text,
  traits jsonb NOT NULL DEFAULT '{}'::jsonb,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  last_message_id text,
  PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE groups (
  workspace_id text NOT NULL,
  group_id text NOT NULL,
  traits jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_user_id text,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, group_id)
);

CREATE TABLE aliases (
  workspace_id text NOT NULL,
  previous_id text NOT NULL,
  user_id text NOT NULL,
  message_id text NOT NULL,
  aliased_at timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, previous_id, user_id)
);

CREATE TABLE rejected_events (
  id text PRIMARY KEY,
  workspace_id text,
  source_id text,
  reason text NOT NULL,
  message_id text,
  event jsonb,
  event_size integer,
  received_at timestamptz NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_events_source_id_received_at_idx ON rejected_events (source_id, received_at);
`,
};

// Rows are never deleted by the workers: a delete or a remove is a flag, so that a late,
// older write cannot bring a record back. (sequence, sequence_index) orders every write.
const internalApi = {
  id: '0002_internal_api',
  sql: `
CREATE TABLE retl_records (
  source_id text NOT NULL,
  destination_id text NOT NULL DEFAULT '',
  record_id text NOT NULL,
  workspace_id text NOT NULL,
  fields jsonb NOT NULL DEFAULT '{}'::jsonb,
  deleted boolean NOT NULL DEFAULT false,
  last_action text NOT NULL CHECK (last_action IN ('insert', 'update', 'delete')),
  message_id text NOT NULL,
  received_at timestamptz NOT NULL,
  sequence bigint NOT NULL,
  sequence_index integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, destination_id, record_id)
);

CREATE TABLE audience_members (
  source_id text NOT NULL,
  audience_id text NOT NULL,
  member_key text NOT NULL,
  workspace_id text NOT NULL,
  member jsonb NOT NULL,
  present boolean NOT NULL,
  message_id text NOT NULL,
  sequence bigint NOT NULL,
  sequence_index integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, audience_id, member_key)
);
CREATE INDEX audience_members_present_idx ON audience_members (source_id, audience_id) WHERE present;
`,
};

export const LEGACY_MIGRATIONS: ReadonlyArray<{ id: string; sql: string }> = [init, internalApi];
