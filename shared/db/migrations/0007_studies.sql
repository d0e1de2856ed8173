CREATE TABLE "studies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"request" jsonb NOT NULL,
	"estimate" jsonb,
	"cells_total" integer DEFAULT 0 NOT NULL,
	"cells_done" integer DEFAULT 0 NOT NULL,
	"report" jsonb,
	"error" jsonb,
	"execution_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "study_cells" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"study_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"kind" text NOT NULL,
	"label" text NOT NULL,
	"symbol" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"spec" jsonb NOT NULL,
	"decisions" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"backtest_id" uuid,
	"result" jsonb,
	"error" jsonb,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "studies_created" ON "studies" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "study_cells_seq" ON "study_cells" USING btree ("study_id","seq");