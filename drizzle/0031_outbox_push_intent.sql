-- Crash window of asynchronous pushes (Amazon feeds): a submission the channel created but whose
-- id was never stored (the process died between createFeed answering and the settle) is an
-- orphan nobody polls. `push_intent_at` is written when rows are leased for a push of a publisher
-- that can look for orphans, and cleared when the push is settled or given back. A row that still
-- has it after its lease lapsed is not pushed again until the publisher says every submission
-- created in that window has finished, so an orphan's older figure cannot land after a newer one.
ALTER TABLE "channel_outbox" ADD COLUMN "push_intent_at" timestamp(3) with time zone;
--> statement-breakpoint
CREATE INDEX "channel_outbox_push_intent" ON "channel_outbox" ("channel_id") WHERE "push_intent_at" IS NOT NULL;
