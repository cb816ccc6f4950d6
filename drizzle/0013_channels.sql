-- Channel sync engine (issue 14). A deleted channel stays (active = false) with its history.
ALTER TABLE "channels" ADD COLUMN "active" boolean DEFAULT true NOT NULL;
--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "low_stock_threshold" integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "deleted_at" timestamp(3) with time zone;
--> statement-breakpoint
-- The push outbox: one row per (channel, sku, channel location; '' for whole-network channels).
-- `quantity`/`version` is the latest figure (an UPSERT coalesces: latest wins, version + 1);
-- `acked_quantity`/`acked_version` what the channel acknowledged. Pending: version > acked_version.
CREATE TABLE "channel_outbox" (
	"channel_id" text NOT NULL,
	"sku" text NOT NULL,
	"channel_location" text DEFAULT '' NOT NULL,
	"quantity" integer NOT NULL,
	"version" bigint DEFAULT 1 NOT NULL,
	"acked_quantity" integer,
	"acked_version" bigint DEFAULT 0 NOT NULL,
	"priority" smallint DEFAULT 1 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"not_before" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"leased_until" timestamp(3) with time zone,
	"parked" text,
	"last_error" text,
	"acked_at" timestamp(3) with time zone,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_outbox_pk" PRIMARY KEY("channel_id","sku","channel_location")
);
--> statement-breakpoint
CREATE INDEX "channel_outbox_pending" ON "channel_outbox" ("channel_id","priority","not_before") WHERE "version" > "acked_version" AND "parked" IS NULL;
--> statement-breakpoint
CREATE TABLE "channel_quarantine" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"channel_id" text NOT NULL,
	"channel_ref" text NOT NULL,
	"reason" text NOT NULL,
	"payload" jsonb,
	"at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "channel_quarantine_channel" ON "channel_quarantine" ("channel_id","id");
--> statement-breakpoint
CREATE TABLE "channel_state" (
	"channel_id" text NOT NULL,
	"key" text NOT NULL,
	"value" text NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_state_pk" PRIMARY KEY("channel_id","key")
);
--> statement-breakpoint
-- Every order callback is idempotent and order-tolerant through this row: a cancellation before
-- its order leaves state 'cancelled' (a tombstone), so the order's later arrival reserves nothing.
CREATE TABLE "channel_orders" (
	"channel_id" text NOT NULL,
	"order_ref" text NOT NULL,
	"state" text NOT NULL,
	"reservation_id" text,
	"tombstone" boolean DEFAULT false NOT NULL,
	"allocations" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"fulfilled" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"detail" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_orders_pk" PRIMARY KEY("channel_id","order_ref")
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"channel_id" text NOT NULL,
	"delivery_id" text NOT NULL,
	"outcome" text,
	"received_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_deliveries_pk" PRIMARY KEY("channel_id","delivery_id")
);
