export const id = '0002_internal_api';

// Rows are never deleted by the workers: a delete or a remove is a flag, so that a late,
// older write cannot bring a record back. (sequence, sequence_index) orders every write.
export const sql = `
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
`;
