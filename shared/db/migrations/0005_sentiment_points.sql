CREATE TABLE "sentiment_points" (
	"series" text NOT NULL,
	"symbol" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"known_at" timestamp with time zone NOT NULL,
	"value" numeric NOT NULL,
	"value2" numeric,
	"label" text,
	"source" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sentiment_points_series_symbol_time_pk" PRIMARY KEY("series","symbol","time")
);
