CREATE TABLE "channels" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"pool" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"buffer_units" integer DEFAULT 0 NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "consumer_offsets" (
	"consumer_group" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"next_offset" bigint NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consumer_offsets_consumer_group_topic_partition_pk" PRIMARY KEY("consumer_group","topic","partition")
);
--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"offset" bigint NOT NULL,
	"key" text,
	"payload" text NOT NULL,
	"reason" text NOT NULL,
	"received_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"kind" text NOT NULL,
	"sku" text NOT NULL,
	"location_id" text NOT NULL,
	"occurred_at" timestamp(3) with time zone NOT NULL,
	"count_quantity" bigint,
	"on_hand_delta" bigint DEFAULT 0 NOT NULL,
	"unavailable_delta" bigint DEFAULT 0 NOT NULL,
	"missing_delta" bigint DEFAULT 0 NOT NULL,
	"reserved_delta" bigint DEFAULT 0 NOT NULL,
	"source" text,
	"reason" text,
	"reservation_id" text,
	"recorded_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "locations" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"lat" double precision NOT NULL,
	"lon" double precision NOT NULL,
	"ship_from_store" boolean DEFAULT false NOT NULL,
	"pickup" boolean DEFAULT false NOT NULL,
	"rank" integer DEFAULT 100 NOT NULL,
	"daily_capacity" integer,
	"safety_stock" integer DEFAULT 0 NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_messages" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"topic" text NOT NULL,
	"key" text,
	"payload" text NOT NULL,
	"appended_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "positions" (
	"sku" text NOT NULL,
	"location_id" text NOT NULL,
	"on_hand" bigint DEFAULT 0 NOT NULL,
	"unavailable" bigint DEFAULT 0 NOT NULL,
	"missing" bigint DEFAULT 0 NOT NULL,
	"reserved" bigint DEFAULT 0 NOT NULL,
	"count_at" timestamp(3) with time zone,
	"count_event_id" text,
	"count_quantity" bigint,
	"count_requested_at" timestamp(3) with time zone,
	"oversold" boolean DEFAULT false NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "positions_sku_location_id_pk" PRIMARY KEY("sku","location_id"),
	CONSTRAINT "positions_reserved_nonnegative" CHECK ("positions"."reserved" >= 0),
	CONSTRAINT "positions_reserved_within_stock" CHECK ("positions"."oversold" OR "positions"."reserved" <= "positions"."on_hand" - "positions"."unavailable" - "positions"."missing")
);
--> statement-breakpoint
CREATE TABLE "processed_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"applied_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "positions" ADD CONSTRAINT "positions_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dead_letters_position_idx" ON "dead_letters" USING btree ("topic","partition","offset");--> statement-breakpoint
CREATE INDEX "ledger_position_time_idx" ON "ledger_entries" USING btree ("sku","location_id","occurred_at");--> statement-breakpoint
CREATE INDEX "log_messages_topic_seq_idx" ON "log_messages" USING btree ("topic","seq");--> statement-breakpoint
CREATE INDEX "positions_location_idx" ON "positions" USING btree ("location_id");