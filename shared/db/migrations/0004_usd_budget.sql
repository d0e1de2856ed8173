ALTER TABLE "token_ledger" ADD COLUMN "usd_budget" numeric(18, 8);--> statement-breakpoint
ALTER TABLE "token_ledger" ADD COLUMN "usd_reserved" numeric(18, 8) DEFAULT '0' NOT NULL;