-- A position's location must exist, checked once per statement instead of once per row.
-- The foreign key ran a lookup (and a KEY SHARE lock on the locations row) for every new
-- position: the reconciler creates thousands per batch while a catalogue fills, and the check
-- cost about an eighth of the writer's database CPU (BENCHMARKS.md, spine). A statement-level
-- trigger sees the statement's new rows as one table and checks them in one anti-join.
-- Positions never change location (their key), and locations are deactivated rather than
-- deleted; a row trigger on locations still refuses to delete one, or change its id, while
-- positions refer to it, as the foreign key did.
-- Safe to run twice: its journal time was first set before 0010's (hand-set) one, so drizzle's
-- migrator, which applies only migrations newer than the newest recorded, skipped it on
-- databases that had 0010 already; with the time corrected, databases that did apply it run it
-- again.
ALTER TABLE "positions" DROP CONSTRAINT IF EXISTS "positions_location_id_locations_id_fk";--> statement-breakpoint
CREATE OR REPLACE FUNCTION "positions_locations_exist"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unknown text;
BEGIN
  SELECT n.location_id INTO unknown FROM new_positions n
   WHERE NOT EXISTS (SELECT 1 FROM locations l WHERE l.id = n.location_id) LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "positions" violates the location check'
      USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (location_id)=(%s) is not present in table "locations".', unknown);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE OR REPLACE TRIGGER "positions_locations_exist" AFTER INSERT ON "positions"
  REFERENCING NEW TABLE AS new_positions FOR EACH STATEMENT EXECUTE FUNCTION "positions_locations_exist"();--> statement-breakpoint
CREATE OR REPLACE FUNCTION "locations_keep_referenced"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id)
     AND EXISTS (SELECT 1 FROM positions p WHERE p.location_id = OLD.id) THEN
    RAISE EXCEPTION 'location % still has positions', OLD.id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;--> statement-breakpoint
CREATE OR REPLACE TRIGGER "locations_keep_referenced" BEFORE DELETE OR UPDATE OF "id" ON "locations"
  FOR EACH ROW EXECUTE FUNCTION "locations_keep_referenced"();
