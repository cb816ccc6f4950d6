-- Staff users, their sessions and the store-side status of routed orders (contract §11).
CREATE TABLE "staff_users" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"location_ids" text[] NOT NULL,
	"password_hash" text NOT NULL,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp(3) with time zone,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "staff_users_role_valid" CHECK ("staff_users"."role" IN ('staff', 'manager', 'admin'))
);
--> statement-breakpoint
-- Only a SHA-256 digest of the cookie's secret is stored: a read of this table signs nobody in.
CREATE TABLE "staff_sessions" (
	"id_digest" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL REFERENCES "staff_users"("id"),
	"csrf_token" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp(3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "staff_sessions_user_idx" ON "staff_sessions" USING btree ("user_id");
--> statement-breakpoint
-- A routed order's progress at one store; no row means "new".
CREATE TABLE "store_order_status" (
	"reservation_id" text NOT NULL REFERENCES "reservations"("id"),
	"location_id" text NOT NULL,
	"status" text NOT NULL,
	"updated_by" text,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "store_order_status_pk" PRIMARY KEY ("reservation_id", "location_id"),
	CONSTRAINT "store_order_status_valid" CHECK ("store_order_status"."status" IN ('new', 'picked', 'packed', 'ready', 'shipped', 'handed_over'))
);
--> statement-breakpoint
CREATE INDEX "reservation_lines_location_state_idx" ON "reservation_lines" USING btree ("location_id", "state");
