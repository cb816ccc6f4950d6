CREATE TABLE "location_capacity_usage" (
	"location_id" text NOT NULL,
	"day" date NOT NULL,
	"used" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "location_capacity_usage_location_id_day_pk" PRIMARY KEY("location_id","day"),
	CONSTRAINT "location_capacity_usage_used_nonnegative" CHECK ("location_capacity_usage"."used" >= 0)
);
--> statement-breakpoint
CREATE TABLE "reservation_lines" (
	"reservation_id" text NOT NULL,
	"line_no" integer NOT NULL,
	"sku" text NOT NULL,
	"location_id" text NOT NULL,
	"quantity" bigint NOT NULL,
	"state" text DEFAULT 'held' NOT NULL,
	"shipment_no" integer,
	"capacity_day" date,
	"replaces_line_no" integer,
	"reason" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservation_lines_reservation_id_line_no_pk" PRIMARY KEY("reservation_id","line_no"),
	CONSTRAINT "reservation_lines_quantity_positive" CHECK ("reservation_lines"."quantity" > 0),
	CONSTRAINT "reservation_lines_state_valid" CHECK ("reservation_lines"."state" IN ('held', 'committed', 'released', 'fulfilled', 'rejected'))
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" text PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"order_ref" text,
	"status" text DEFAULT 'held' NOT NULL,
	"request_fingerprint" text NOT NULL,
	"ttl_seconds" integer NOT NULL,
	"expires_at" timestamp(3) with time zone,
	"released_reason" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_status_valid" CHECK ("reservations"."status" IN ('held', 'committed', 'released', 'fulfilled')),
	CONSTRAINT "reservations_held_expires" CHECK ("reservations"."status" <> 'held' OR "reservations"."expires_at" IS NOT NULL)
);
--> statement-breakpoint
ALTER TABLE "location_capacity_usage" ADD CONSTRAINT "location_capacity_usage_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservation_lines" ADD CONSTRAINT "reservation_lines_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reservation_lines_position_idx" ON "reservation_lines" USING btree ("sku","location_id");--> statement-breakpoint
CREATE INDEX "reservations_held_expiry_idx" ON "reservations" USING btree ("expires_at") WHERE "reservations"."status" = 'held';--> statement-breakpoint
CREATE INDEX "reservations_order_idx" ON "reservations" USING btree ("channel","order_ref");