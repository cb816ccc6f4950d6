-- Asynchronous pushes (issue 15: Amazon JSON_LISTINGS_FEED). A row a push answered `pending`
-- for carries its submission (the feed id) and the version and figure it submitted, so that a
-- restarted process resumes polling the submission instead of pushing again, and settles the
-- row against the version that was actually sent. `leased_until` is then the next poll.
ALTER TABLE "channel_outbox" ADD COLUMN "submission" text;
--> statement-breakpoint
ALTER TABLE "channel_outbox" ADD COLUMN "submission_index" integer;
--> statement-breakpoint
ALTER TABLE "channel_outbox" ADD COLUMN "submitted_version" bigint;
--> statement-breakpoint
ALTER TABLE "channel_outbox" ADD COLUMN "submitted_quantity" integer;
--> statement-breakpoint
ALTER TABLE "channel_outbox" ADD COLUMN "submitted_at" timestamp(3) with time zone;
--> statement-breakpoint
CREATE INDEX "channel_outbox_submission" ON "channel_outbox" ("channel_id","submission") WHERE "submission" IS NOT NULL;
