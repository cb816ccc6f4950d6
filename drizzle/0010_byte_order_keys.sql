-- Keys compare byte-wise (COLLATE "C"), not by locale rules.
--  * Speed: every event inserts into the ledger's (sku, location_id, occurred_at) index and the
--    processed_events key, and upserts a positions key; with a locale collation each of those
--    comparisons is a strcoll() call. Byte comparison cut the cost of these inserts by about
--    40% in a bulk test on PostgreSQL 15 (C.UTF-8 database).
--  * Lock order: every writer locks positions in (sku, location_id) order. The hold batch
--    already sorts COLLATE "C" and JavaScript sorts by code unit; with the columns themselves in
--    "C", a plain ORDER BY agrees with both on any server locale.
-- Positions get room on each page (fillfactor) so an update can stay on its page (a HOT
-- update, no new index entries): a position is rewritten by nearly every batch that touches it.
ALTER TABLE "positions" ALTER COLUMN "sku" TYPE text COLLATE "C", ALTER COLUMN "location_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "positions" SET (fillfactor = 80);--> statement-breakpoint
ALTER TABLE "ledger_entries" ALTER COLUMN "sku" TYPE text COLLATE "C", ALTER COLUMN "location_id" TYPE text COLLATE "C", ALTER COLUMN "event_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "processed_events" ALTER COLUMN "event_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "reservation_lines" ALTER COLUMN "sku" TYPE text COLLATE "C", ALTER COLUMN "location_id" TYPE text COLLATE "C";
