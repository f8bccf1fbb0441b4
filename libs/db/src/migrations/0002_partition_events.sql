-- `events` becomes partitioned by RANGE (received_at). Written by hand: drizzle-kit cannot express
-- partitioning. Its snapshot (meta/0002_snapshot.json) is what drizzle-kit generated from
-- schema.ts, so the drift check still holds; this SQL makes the same columns, keys and indexes,
-- partitioned.
--
-- The existing table is not copied. It is renamed events_legacy and attached as the partition of
-- everything received before the cut-over (the moment of this migration). Copying would rewrite
-- every row (hours and twice the disk for a table of billions, with writes stopped meanwhile);
-- attaching reads the table once to check its range and builds one index. The retention command
-- drops events_legacy whole once the cut-over is older than what is kept.
--
-- 1. The dedup key moves to event_keys: a unique index of a partitioned table must include the
--    partition key, and (source_id, message_id, received_at) would not catch a retry received on
--    another day. Every stored event's key is copied (maintenance then deletes those older than
--    the dedup window), so a retry of an event stored before the migration is still dropped.
CREATE TABLE "event_keys" (
	"source_id" text NOT NULL,
	"message_id" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	CONSTRAINT "event_keys_pkey" PRIMARY KEY("source_id","message_id")
);
--> statement-breakpoint
INSERT INTO "event_keys" ("source_id", "message_id", "received_at") SELECT "source_id", "message_id", "received_at" FROM "events";
--> statement-breakpoint
CREATE INDEX "event_keys_received_at_idx" ON "event_keys" USING btree ("received_at");
--> statement-breakpoint
-- 2. The old table steps aside, without the keys a partition of the new one cannot have: its
--    primary key (id) lacks the partition key, the dedup key is event_keys' now, and the new
--    primary key (source_id, received_at, id) serves what events_source_id_received_at_idx did.
--    Its identity is dropped (with events_id_seq); the new table's identity goes on from its ids.
ALTER TABLE "events" RENAME TO "events_legacy";
--> statement-breakpoint
ALTER TABLE "events_legacy" DROP CONSTRAINT "events_source_id_message_id_key";
--> statement-breakpoint
ALTER TABLE "events_legacy" DROP CONSTRAINT "events_pkey";
--> statement-breakpoint
DROP INDEX "events_source_id_received_at_idx";
--> statement-breakpoint
ALTER TABLE "events_legacy" ALTER COLUMN "id" DROP IDENTITY;
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1) NOT NULL,
	"workspace_id" text NOT NULL,
	"source_id" text NOT NULL,
	"message_id" text NOT NULL,
	"type" text NOT NULL,
	"user_id" text,
	"anonymous_id" text,
	"rudder_id" uuid,
	"event" text,
	"name" text,
	"received_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone,
	"original_timestamp" timestamp with time zone,
	"timestamp" timestamp with time zone,
	"request_ip" text,
	"payload" jsonb NOT NULL,
	"stored_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "events_pkey" PRIMARY KEY("source_id","received_at","id")
) PARTITION BY RANGE ("received_at");
--> statement-breakpoint
-- 3. The cut-over: a whole second after now and after the newest legacy row (a clock ahead of the
--    database's). Attaching builds events_legacy_pkey on the legacy rows.
DO $$
DECLARE
	cutover timestamptz;
BEGIN
	SELECT date_trunc('second', greatest(now(), max("received_at"))) + interval '1 second' INTO cutover FROM "events_legacy";
	PERFORM setval(pg_get_serial_sequence('events', 'id'), max("id")) FROM "events_legacy" HAVING max("id") IS NOT NULL;
	EXECUTE format('ALTER TABLE "events" ATTACH PARTITION "events_legacy" FOR VALUES FROM (MINVALUE) TO (%L)', cutover);
END
$$;
--> statement-breakpoint
-- 4. The safety net: an event whose received_at no partition covers (the workers create them
--    ahead of time; see event-partitions.repository.ts) lands here instead of being refused. The
--    maintenance moves such rows into the partition it creates for their range.
CREATE TABLE "events_default" PARTITION OF "events" DEFAULT;
