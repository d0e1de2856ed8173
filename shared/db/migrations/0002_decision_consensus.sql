ALTER TABLE "decisions" ADD COLUMN "decision_mode" text DEFAULT 'pipeline' NOT NULL;--> statement-breakpoint
ALTER TABLE "decisions" ADD COLUMN "consensus" jsonb;