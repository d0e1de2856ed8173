CREATE TABLE "agent_logs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"timestamp" timestamp with time zone DEFAULT now() NOT NULL,
	"run_id" text,
	"decision_id" uuid,
	"agent" text NOT NULL,
	"symbol" text,
	"provider" text NOT NULL,
	"tier" text NOT NULL,
	"model" text NOT NULL,
	"prompt_version" text,
	"status" text NOT NULL,
	"tokens_in" integer DEFAULT 0 NOT NULL,
	"tokens_out" integer DEFAULT 0 NOT NULL,
	"tokens_cached" integer DEFAULT 0 NOT NULL,
	"cost_usd" numeric(18, 8) DEFAULT '0' NOT NULL,
	"latency_ms" integer DEFAULT 0 NOT NULL,
	"retries" integer DEFAULT 0 NOT NULL,
	"cache_hit" boolean DEFAULT false NOT NULL,
	"input_summary" text,
	"output_summary" text,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "backtests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" text NOT NULL,
	"symbol" text NOT NULL,
	"timeframe" text NOT NULL,
	"start_date" timestamp with time zone NOT NULL,
	"end_date" timestamp with time zone NOT NULL,
	"max_decisions" integer NOT NULL,
	"decision_interval" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"progress_done" integer DEFAULT 0 NOT NULL,
	"progress_total" integer DEFAULT 0 NOT NULL,
	"settings" jsonb NOT NULL,
	"estimate" jsonb,
	"result" jsonb,
	"error" jsonb,
	"execution_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "candles" (
	"symbol" text NOT NULL,
	"timeframe" text NOT NULL,
	"timestamp" timestamp with time zone NOT NULL,
	"open" numeric(24, 8) NOT NULL,
	"high" numeric(24, 8) NOT NULL,
	"low" numeric(24, 8) NOT NULL,
	"close" numeric(24, 8) NOT NULL,
	"volume" numeric(30, 8) NOT NULL,
	"close_time" timestamp with time zone NOT NULL,
	"quote_volume" numeric(30, 8),
	"trades" integer,
	"taker_buy_base" numeric(30, 8),
	"taker_buy_quote" numeric(30, 8),
	"source" text DEFAULT 'binance' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "decisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" text NOT NULL,
	"backtest_id" uuid,
	"symbol" text NOT NULL,
	"timeframe" text NOT NULL,
	"mode" text NOT NULL,
	"decision_time" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"provider" text NOT NULL,
	"final_action" text,
	"final_size_pct" numeric(10, 4),
	"outputs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"prompt_versions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"snapshot" jsonb,
	"execution" jsonb,
	"error" jsonb,
	"tokens_in" integer DEFAULT 0 NOT NULL,
	"tokens_out" integer DEFAULT 0 NOT NULL,
	"cost_usd" numeric(18, 8) DEFAULT '0' NOT NULL,
	"latency_ms" integer DEFAULT 0 NOT NULL,
	"execution_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "llm_cache" (
	"key" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"response" jsonb NOT NULL,
	"tokens_in" integer NOT NULL,
	"tokens_out" integer NOT NULL,
	"cost_usd" numeric(18, 8) DEFAULT '0' NOT NULL,
	"hits" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "portfolio_snapshots" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" text NOT NULL,
	"timestamp" timestamp with time zone NOT NULL,
	"cash" numeric(30, 12) NOT NULL,
	"equity" numeric(30, 12) NOT NULL,
	"positions_value" numeric(30, 12) NOT NULL,
	"positions" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "positions" (
	"run_id" text NOT NULL,
	"symbol" text NOT NULL,
	"quantity" numeric(30, 12) NOT NULL,
	"avg_entry_price" numeric(30, 12) NOT NULL,
	"realized_pnl" numeric(30, 12) DEFAULT '0' NOT NULL,
	"fees_paid" numeric(30, 12) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "positions_run_id_symbol_pk" PRIMARY KEY("run_id","symbol")
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"initial_cash" numeric(30, 12) NOT NULL,
	"cash" numeric(30, 12) NOT NULL,
	"fees_paid" numeric(30, 12) DEFAULT '0' NOT NULL,
	"realized_pnl" numeric(30, 12) DEFAULT '0' NOT NULL,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "token_ledger" (
	"day" date PRIMARY KEY NOT NULL,
	"budget" bigint NOT NULL,
	"reserved" bigint DEFAULT 0 NOT NULL,
	"used" bigint DEFAULT 0 NOT NULL,
	"cost_usd" numeric(18, 8) DEFAULT '0' NOT NULL,
	"refused" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trades" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" text NOT NULL,
	"seq" integer NOT NULL,
	"decision_id" uuid,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"quantity" numeric(30, 12) NOT NULL,
	"price" numeric(30, 12) NOT NULL,
	"reference_price" numeric(30, 12) NOT NULL,
	"notional" numeric(30, 12) NOT NULL,
	"fee" numeric(30, 12) NOT NULL,
	"fee_asset" text NOT NULL,
	"fee_usd" numeric(30, 12) NOT NULL,
	"realized_pnl" numeric(30, 12) DEFAULT '0' NOT NULL,
	"clamps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"executed_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "portfolio_snapshots" ADD CONSTRAINT "portfolio_snapshots_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "positions" ADD CONSTRAINT "positions_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trades" ADD CONSTRAINT "trades_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_logs_timestamp" ON "agent_logs" USING btree ("timestamp");--> statement-breakpoint
CREATE INDEX "agent_logs_decision" ON "agent_logs" USING btree ("decision_id");--> statement-breakpoint
CREATE INDEX "backtests_created" ON "backtests" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "candles_symbol_timestamp_timeframe" ON "candles" USING btree ("symbol","timestamp","timeframe");--> statement-breakpoint
CREATE INDEX "decisions_run_time" ON "decisions" USING btree ("run_id","decision_time");--> statement-breakpoint
CREATE INDEX "decisions_backtest" ON "decisions" USING btree ("backtest_id","decision_time");--> statement-breakpoint
CREATE INDEX "decisions_created" ON "decisions" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "snapshots_run_timestamp" ON "portfolio_snapshots" USING btree ("run_id","timestamp");--> statement-breakpoint
CREATE UNIQUE INDEX "trades_run_seq" ON "trades" USING btree ("run_id","seq");--> statement-breakpoint
CREATE INDEX "trades_run_executed" ON "trades" USING btree ("run_id","executed_at");