import { sql } from 'drizzle-orm';
import { openDatabase } from '../shared/db/client';
import { agentLogs, decisions } from '../shared/db/schema';
async function main() {
  const d = await openDatabase({ dataDir: 'memory://' });
  const q = d.db.select({ id: decisions.id, c: sql`(select count(*) from ${agentLogs} l where l.decision_id = ${decisions}.id)` }).from(decisions);
  console.log(q.toSQL().sql);
  await d.close();
}
main();
