-- The errors GET /v1/channels/{id}/status shows: kept here so that they survive a restart and are
-- seen by every process that serves the API. Each channel keeps its latest 50.
CREATE TABLE "channel_errors" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"channel_id" text NOT NULL,
	"at" timestamp(3) with time zone NOT NULL,
	"sku" text,
	"message" text NOT NULL,
	"retryable" boolean NOT NULL
);
--> statement-breakpoint
CREATE INDEX "channel_errors_latest" ON "channel_errors" ("channel_id", "id" DESC);
