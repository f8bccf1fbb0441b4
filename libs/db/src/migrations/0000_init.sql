CREATE TABLE "aliases" (
	"workspace_id" text NOT NULL,
	"previous_id" text NOT NULL,
	"user_id" text NOT NULL,
	"message_id" text NOT NULL,
	"aliased_at" timestamp with time zone NOT NULL,
	CONSTRAINT "aliases_pkey" PRIMARY KEY("workspace_id","previous_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "destinations" (
	"id" text PRIMARY KEY NOT NULL,
	"source_id" text NOT NULL,
	"name" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
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
	CONSTRAINT "events_source_id_message_id_key" UNIQUE("source_id","message_id")
);
--> statement-breakpoint
CREATE TABLE "groups" (
	"workspace_id" text NOT NULL,
	"group_id" text NOT NULL,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_user_id" text,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "groups_pkey" PRIMARY KEY("workspace_id","group_id")
);
--> statement-breakpoint
CREATE TABLE "rejected_events" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text,
	"source_id" text,
	"reason" text NOT NULL,
	"message_id" text,
	"event" jsonb,
	"event_size" integer,
	"received_at" timestamp with time zone NOT NULL,
	"stored_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sources" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"write_key" text NOT NULL,
	"kind" text DEFAULT 'event_stream' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"original_source_id" text,
	"rate_limit_events" integer,
	"rate_limit_window_seconds" integer DEFAULT 60 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sources_write_key_key" UNIQUE("write_key"),
	CONSTRAINT "sources_workspace_id_name_key" UNIQUE("workspace_id","name"),
	CONSTRAINT "sources_kind_check" CHECK (kind IN ('event_stream', 'webhook', 'replay', 'retl', 'extract')),
	CONSTRAINT "sources_rate_limit_events_check" CHECK (rate_limit_events IS NULL OR rate_limit_events > 0),
	CONSTRAINT "sources_rate_limit_window_seconds_check" CHECK (rate_limit_window_seconds > 0),
	CONSTRAINT "sources_replay_has_original" CHECK (kind <> 'replay' OR original_source_id IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "users" (
	"workspace_id" text NOT NULL,
	"user_id" text NOT NULL,
	"anonymous_id" text,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"last_message_id" text,
	CONSTRAINT "users_pkey" PRIMARY KEY("workspace_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspaces_name_key" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "destinations" ADD CONSTRAINT "destinations_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sources" ADD CONSTRAINT "sources_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sources" ADD CONSTRAINT "sources_original_source_id_fkey" FOREIGN KEY ("original_source_id") REFERENCES "public"."sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_source_id_received_at_idx" ON "events" USING btree ("source_id","received_at");--> statement-breakpoint
CREATE INDEX "rejected_events_source_id_received_at_idx" ON "rejected_events" USING btree ("source_id","received_at");