CREATE TABLE "agent_prompt_active" (
	"agent" text PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"set_by" text NOT NULL,
	"since" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_prompts" (
	"agent" text NOT NULL,
	"version" text NOT NULL,
	"text" text NOT NULL,
	"origin" text NOT NULL,
	"parent" text,
	"label" text,
	"note" text,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_prompts_agent_version_pk" PRIMARY KEY("agent","version")
);
--> statement-breakpoint
CREATE INDEX "agent_prompts_agent_seen" ON "agent_prompts" USING btree ("agent","first_seen_at");