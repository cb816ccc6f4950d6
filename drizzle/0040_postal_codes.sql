-- Postal-code coordinates a merchant loads (PUT /v1/postal-codes): a destination for marketplace
-- orders whose address has a postal code but no coordinates. Keys are stored normalised
-- (country upper-case, postal code without spaces, upper-case).
CREATE TABLE "postal_codes" (
	"country" text NOT NULL,
	"postal_code" text NOT NULL,
	"lat" double precision NOT NULL,
	"lon" double precision NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "postal_codes_pk" PRIMARY KEY ("country", "postal_code"),
	CONSTRAINT "postal_codes_lat_valid" CHECK ("postal_codes"."lat" BETWEEN -90 AND 90),
	CONSTRAINT "postal_codes_lon_valid" CHECK ("postal_codes"."lon" BETWEEN -180 AND 180)
);
