CREATE TABLE "audience_members" (
	"source_id" text NOT NULL,
	"audience_id" text NOT NULL,
	"member_key" text NOT NULL,
	"workspace_id" text NOT NULL,
	"member" jsonb NOT NULL,
	"present" boolean NOT NULL,
	"message_id" text NOT NULL,
	"sequence" bigint NOT NULL,
	"sequence_index" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audience_members_pkey" PRIMARY KEY("source_id","audience_id","member_key")
);
--> statement-breakpoint
CREATE TABLE "retl_records" (
	"source_id" text NOT NULL,
	"destination_id" text DEFAULT '' NOT NULL,
	"record_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"fields" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"last_action" text NOT NULL,
	"message_id" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"sequence" bigint NOT NULL,
	"sequence_index" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "retl_records_pkey" PRIMARY KEY("source_id","destination_id","record_id"),
	CONSTRAINT "retl_records_last_action_check" CHECK (last_action IN ('insert', 'update', 'delete'))
);
--> statement-breakpoint
CREATE INDEX "audience_members_present_idx" ON "audience_members" USING btree ("source_id","audience_id") WHERE present;