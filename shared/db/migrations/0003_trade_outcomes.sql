CREATE TABLE "trade_outcomes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" text NOT NULL,
	"backtest_id" uuid,
	"seq" integer NOT NULL,
	"symbol" text NOT NULL,
	"entry_decision_id" uuid,
	"exit_decision_id" uuid,
	"entry_trade_id" uuid,
	"exit_trade_id" uuid,
	"entry_time" timestamp with time zone NOT NULL,
	"exit_time" timestamp with time zone NOT NULL,
	"entry_price" numeric(30, 12) NOT NULL,
	"exit_price" numeric(30, 12) NOT NULL,
	"quantity" numeric(30, 12) NOT NULL,
	"entry_cost" numeric(30, 12) NOT NULL,
	"proceeds" numeric(30, 12) NOT NULL,
	"pnl_usdt" numeric(30, 12) NOT NULL,
	"pnl_pct" numeric(20, 8) NOT NULL,
	"fees" numeric(30, 12) NOT NULL,
	"holding_ms" bigint NOT NULL,
	"exit_reason" text NOT NULL,
	"regime" text,
	"researcher_confidence" numeric(6, 4),
	"context" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "trade_outcomes" ADD CONSTRAINT "trade_outcomes_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "trade_outcomes_run_seq" ON "trade_outcomes" USING btree ("run_id","seq");--> statement-breakpoint
CREATE INDEX "trade_outcomes_run_exit" ON "trade_outcomes" USING btree ("run_id","exit_time");--> statement-breakpoint
CREATE INDEX "trade_outcomes_run_symbol_exit" ON "trade_outcomes" USING btree ("run_id","symbol","exit_time");