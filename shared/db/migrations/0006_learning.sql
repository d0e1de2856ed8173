CREATE TABLE "learning_cycles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" text NOT NULL,
	"backtest_id" uuid,
	"trigger" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"lookback_from" timestamp with time zone NOT NULL,
	"auto_apply" boolean NOT NULL,
	"strategy_version_id" uuid,
	"summary" jsonb,
	"patterns" jsonb,
	"agents" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tokens_in" integer DEFAULT 0 NOT NULL,
	"tokens_out" integer DEFAULT 0 NOT NULL,
	"cost_usd" numeric(18, 8) DEFAULT '0' NOT NULL,
	"error" jsonb,
	"execution_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "strategy_adjustments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cycle_id" uuid NOT NULL,
	"run_id" text NOT NULL,
	"kind" text NOT NULL,
	"parameter" text,
	"agent" text,
	"old_value" jsonb,
	"new_value" jsonb,
	"confidence" integer NOT NULL,
	"risk_level" text NOT NULL,
	"priority" text NOT NULL,
	"reasoning" text NOT NULL,
	"patterns" jsonb NOT NULL,
	"evidence" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"invalid_reason" text,
	"base_version_id" uuid,
	"applied_version_id" uuid,
	"prompt_version" text,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strategy_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" text NOT NULL,
	"seq" integer NOT NULL,
	"params" jsonb NOT NULL,
	"change" jsonb,
	"applied_by" text NOT NULL,
	"adjustment_id" uuid,
	"reason" text,
	"settings_defaults" jsonb,
	"effective_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "decisions" ADD COLUMN "strategy_version_id" uuid;--> statement-breakpoint
CREATE INDEX "learning_cycles_run_created" ON "learning_cycles" USING btree ("run_id","created_at");--> statement-breakpoint
CREATE INDEX "learning_cycles_backtest" ON "learning_cycles" USING btree ("backtest_id","as_of");--> statement-breakpoint
CREATE INDEX "strategy_adjustments_status" ON "strategy_adjustments" USING btree ("run_id","status","created_at");--> statement-breakpoint
CREATE INDEX "strategy_adjustments_cycle" ON "strategy_adjustments" USING btree ("cycle_id");--> statement-breakpoint
CREATE UNIQUE INDEX "strategy_versions_run_seq" ON "strategy_versions" USING btree ("run_id","seq");--> statement-breakpoint
CREATE INDEX "strategy_versions_run_effective" ON "strategy_versions" USING btree ("run_id","effective_at");