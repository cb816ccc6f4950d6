-- The ledger is append-only (contract §6): positions are the fold of its entries and can be
-- rebuilt from them, which holds only while no entry is changed or removed. Corrections are new
-- entries (an adjustment, a count), never edits. Statement-level triggers refuse UPDATE, DELETE
-- and TRUNCATE outright; inserts pay nothing for them.
CREATE OR REPLACE FUNCTION "ledger_entries_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP
    USING ERRCODE = 'object_not_in_prerequisite_state',
          HINT = 'Record a correction as a new event (stock.adjusted, stock.counted).';
END $$;--> statement-breakpoint
CREATE OR REPLACE TRIGGER "ledger_entries_no_update_or_delete" BEFORE UPDATE OR DELETE ON "ledger_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_entries_append_only"();--> statement-breakpoint
CREATE OR REPLACE TRIGGER "ledger_entries_no_truncate" BEFORE TRUNCATE ON "ledger_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_entries_append_only"();
