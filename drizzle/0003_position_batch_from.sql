ALTER TABLE "positions" ADD COLUMN "batch_from" timestamp(3) with time zone;--> statement-breakpoint
-- Room on each page for HOT updates: positions are rewritten constantly, their keys never.
ALTER TABLE "positions" SET (fillfactor = 80);
