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
CREATE INDEX "reservations_order_idx" ON "reservations" USING btree ("channel","order_ref");--> statement-breakpoint
-- Hand-written below this line (drizzle-kit does not model functions).
-- Takes reserved units for lines of one reservation: per (sku, location_id) in the database's
-- own sort order (the order every writer locks positions in), one conditional UPDATE that only
-- matches while ATP covers the quantity, then the ledger entry under the same row lock.
-- Stops at the first line ATP does not cover and returns its {sku, location_id}; NULL when all
-- were taken. The caller must roll back on a miss.
CREATE OR REPLACE FUNCTION omnistock_hold_positions(
  p_reservation_id text, p_source text, p_occurred_at timestamptz,
  p_line_nos int4[], p_skus text[], p_locations text[], p_quantities int8[]
) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  v record;
BEGIN
  FOR v IN
    SELECT * FROM unnest(p_line_nos, p_skus, p_locations, p_quantities) AS t(line_no, sku, location_id, quantity)
     ORDER BY t.sku, t.location_id
  LOOP
    UPDATE positions p
       SET reserved = p.reserved + v.quantity, oversold = false, version = p.version + 1, updated_at = now()
      FROM locations l
     WHERE p.sku = v.sku AND p.location_id = v.location_id AND l.id = p.location_id AND l.active
       AND p.on_hand - p.reserved - p.unavailable - p.missing - l.safety_stock >= v.quantity;
    IF NOT FOUND THEN
      RETURN ARRAY[v.sku, v.location_id];
    END IF;
    INSERT INTO ledger_entries (event_id, kind, sku, location_id, occurred_at, reserved_delta, source, reservation_id)
    VALUES ('res:' || p_reservation_id || ':held:' || v.line_no, 'reservation.held', v.sku, v.location_id, p_occurred_at, v.quantity,
            p_source, p_reservation_id);
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- A whole hold as one statement (run outside an explicit transaction, it is its own): the
-- reservation and its lines first, the positions last, so the commit follows the last position
-- update inside the server with no client round trip while rows are locked. Returns 'held', or
-- 'exists' when the id is taken (the caller compares fingerprints); raises SQLSTATE OS409 with
-- the first missed position as JSON detail when ATP does not cover a line (nothing is kept).
CREATE OR REPLACE FUNCTION omnistock_hold(
  p_id text, p_channel text, p_order_ref text, p_fingerprint text, p_ttl_seconds int4, p_expires_at timestamptz, p_now timestamptz,
  p_line_nos int4[], p_skus text[], p_locations text[], p_quantities int8[]
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  missed text[];
BEGIN
  INSERT INTO reservations (id, channel, order_ref, status, request_fingerprint, ttl_seconds, expires_at, created_at, updated_at)
  VALUES (p_id, p_channel, p_order_ref, 'held', p_fingerprint, p_ttl_seconds, p_expires_at, p_now, p_now)
  ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN 'exists';
  END IF;
  INSERT INTO reservation_lines (reservation_id, line_no, sku, location_id, quantity, state, created_at, updated_at)
  SELECT p_id, t.line_no, t.sku, t.location_id, t.quantity, 'held', p_now, p_now
    FROM unnest(p_line_nos, p_skus, p_locations, p_quantities) AS t(line_no, sku, location_id, quantity);
  missed := omnistock_hold_positions(p_id, p_channel, p_now, p_line_nos, p_skus, p_locations, p_quantities);
  IF missed IS NOT NULL THEN
    RAISE EXCEPTION 'reservation shortage' USING ERRCODE = 'OS409',
      DETAIL = json_build_object('sku', missed[1], 'locationId', missed[2])::text;
  END IF;
  RETURN 'held';
END $$;
