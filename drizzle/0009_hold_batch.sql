-- Group commit for holds: many reservations in one transaction, each all-or-nothing on its
-- own. Under a hot SKU the cost of a hold is the commit (WAL flush) during which its position
-- rows stay locked; one commit for a batch of holds shares that cost (ReservationService's
-- HoldBatcher calls this). Lock order, the same as every other writer of these rows:
--   1. reservation rows, inserted in id order (an idempotent retry of an id that is in flight
--      elsewhere waits there, before it holds any position);
--   2. every position the batch touches, FOR UPDATE in (sku, location_id) byte order;
--   3. then, per reservation, its lines and conditional position updates in a subtransaction:
--      a reservation whose line misses ATP rolls back alone and leaves the others held.
-- Returns one row per input reservation (ord = its index in the arrays, 1-based): outcome
-- 'held' | 'exists' | 'missed' (sku, location_id = the first line that missed) | 'error'
-- (detail = SQLSTATE and message; the other reservations of the batch are unaffected).
CREATE OR REPLACE FUNCTION omnistock_hold_batch(
  p_ids text[], p_channels text[], p_order_refs text[], p_fingerprints text[], p_ttl_seconds int4[],
  p_expires_at timestamptz[], p_nows timestamptz[],
  p_res int4[], p_line_nos int4[], p_skus text[], p_locations text[], p_quantities int8[]
) RETURNS TABLE (ord int4, outcome text, sku text, location_id text, detail text) LANGUAGE plpgsql AS $$
DECLARE
  r record;
  fresh boolean[] := array_fill(false, ARRAY[coalesce(array_length(p_ids, 1), 0)]);
  missed text[];
  l_line_nos int4[]; l_skus text[]; l_locations text[]; l_quantities int8[];
BEGIN
  FOR r IN SELECT t.i, t.id FROM unnest(p_ids) WITH ORDINALITY AS t(id, i) ORDER BY t.id COLLATE "C" LOOP
    INSERT INTO reservations (id, channel, order_ref, status, request_fingerprint, ttl_seconds, expires_at, created_at, updated_at)
    VALUES (r.id, p_channels[r.i], p_order_refs[r.i], 'held', p_fingerprints[r.i], p_ttl_seconds[r.i], p_expires_at[r.i], p_nows[r.i], p_nows[r.i])
    ON CONFLICT (id) DO NOTHING;
    fresh[r.i] := FOUND;
  END LOOP;

  PERFORM 1 FROM positions p
   WHERE (p.sku, p.location_id) IN (
     SELECT t.sku, t.loc FROM unnest(p_res, p_skus, p_locations) AS t(res, sku, loc) WHERE fresh[t.res])
   ORDER BY p.sku COLLATE "C", p.location_id COLLATE "C"
   FOR UPDATE OF p;

  FOR r IN SELECT t.i, t.id FROM unnest(p_ids) WITH ORDINALITY AS t(id, i) ORDER BY t.i LOOP
    ord := r.i; sku := NULL; location_id := NULL; detail := NULL;
    IF NOT fresh[r.i] THEN
      outcome := 'exists';
      RETURN NEXT;
      CONTINUE;
    END IF;
    SELECT array_agg(t.line_no), array_agg(t.sku), array_agg(t.loc), array_agg(t.q)
      INTO l_line_nos, l_skus, l_locations, l_quantities
      FROM unnest(p_res, p_line_nos, p_skus, p_locations, p_quantities) AS t(res, line_no, sku, loc, q)
     WHERE t.res = r.i;
    BEGIN
      INSERT INTO reservation_lines (reservation_id, line_no, sku, location_id, quantity, state, created_at, updated_at)
      SELECT r.id, t.line_no, t.sku, t.loc, t.q, 'held', p_nows[r.i], p_nows[r.i]
        FROM unnest(l_line_nos, l_skus, l_locations, l_quantities) AS t(line_no, sku, loc, q);
      missed := omnistock_hold_positions(r.id, p_channels[r.i], p_nows[r.i], l_line_nos, l_skus, l_locations, l_quantities);
      IF missed IS NOT NULL THEN
        RAISE EXCEPTION 'reservation shortage' USING ERRCODE = 'OS409';
      END IF;
      outcome := 'held';
    EXCEPTION
      WHEN SQLSTATE 'OS409' THEN
        outcome := 'missed'; sku := missed[1]; location_id := missed[2];
      WHEN OTHERS THEN
        outcome := 'error'; detail := SQLSTATE || ' ' || SQLERRM;
    END;
    IF outcome <> 'held' THEN
      -- Its lines and positions rolled back with the subtransaction; the row from step 1 goes too.
      DELETE FROM reservations WHERE id = r.id;
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;
