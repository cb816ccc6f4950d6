ALTER TABLE "reservations" ADD COLUMN "route_method" text;--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "destination_lat" double precision;--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "destination_lon" double precision;