/**
 * Lambda entry of the migrations, invoked by the CDK Trigger on deploy (cdk/stacks/network-data-stack.ts).
 * It applies the drizzle migrations bundled beside it (./migrations) and throws on any failure, which
 * fails the Trigger and so the deploy. Idempotent: applied migrations are skipped.
 */
import { openDatabase } from '../../shared/db/client';
import { registerBuiltinPrompts } from '../../shared/prompts/registry';
import { observed } from './observability';
import { getAwsSettings } from './params';

export const handler = observed(migrate);

async function migrate(): Promise<{ migrated: true }> {
  const settings = await getAwsSettings();
  if (!settings.DATABASE_URL) throw new Error('DATABASE_URL is not configured (DB_SECRET_ARN missing?)');
  const database = await openDatabase({
    databaseUrl: settings.DATABASE_URL,
    ssl: settings.DATABASE_SSL,
    sslVerify: settings.DATABASE_SSL_VERIFY,
    maxConnections: 1,
  });
  try {
    await database.migrate();
    // The code's prompts are registered on deploy too (every cold start does it again, idempotently).
    await registerBuiltinPrompts(database.db);
    return { migrated: true };
  } finally {
    await database.close();
  }
}
