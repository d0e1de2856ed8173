/**
 * The learning loop from the command line (shared/learning): `learn` runs one cycle in-process on the
 * live book's outcomes; `adjustments`, `approve`, `reject`, `rollback` review its proposals; `strategy`
 * shows the strategy version in force and its history. Same core and database as the API.
 */
import type { Command } from 'commander';
import { createLearningCycle, runLearningCycle } from '../../../shared/learning/cycle';
import {
  ADJUSTMENT_STATUSES,
  type AdjustmentRecord,
  type AdjustmentStatus,
  approveAdjustment,
  getCycle,
  listAdjustments,
  rejectAdjustment,
  rollbackAdjustment,
} from '../../../shared/learning/review';
import { listStrategyVersions, strategyInForce } from '../../../shared/strategy/store';
import type { CliContext } from '../context';
import { print, printJson, table, usage, withContainer } from './support';

const adjustmentRows = (items: AdjustmentRecord[]) =>
  items.map((a) => ({
    id: a.id,
    status: a.status,
    change:
      a.kind === 'lesson'
        ? `lesson for ${a.agent}`
        : `${a.parameter} ${JSON.stringify(a.oldValue)} -> ${JSON.stringify(a.newValue)}`,
    confidence: a.confidence,
    risk: a.riskLevel,
    priority: a.priority,
    evidence: a.evidence,
    why: a.invalidReason ?? a.reasoning,
  }));

export function registerLearningCommands(program: Command, ctx: CliContext): void {
  program
    .command('learn')
    .description(
      'Run one learning cycle on the live book now (summary, learning agent, strategy builder, validation)',
    )
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const cycle = await withContainer(ctx, async (c) => {
        const { cycleId } = await createLearningCycle(c.deps, { trigger: 'cli' });
        await runLearningCycle(c.deps, cycleId);
        return getCycle(c.deps, cycleId);
      });
      if (flags.json) return printJson(ctx, cycle);
      const summary = cycle.summary as { trades?: number } | null;
      print(
        ctx,
        `cycle ${cycle.id}: ${cycle.status}, ${summary?.trades ?? 0} outcomes read, $${cycle.cost.costUsd.toFixed(6)}`,
      );
      if (cycle.error) print(ctx, `error: ${JSON.stringify(cycle.error)}`);
      if (cycle.proposals.length) print(ctx, table(adjustmentRows(cycle.proposals)));
    });

  program
    .command('adjustments')
    .description('Proposed strategy changes of the live book, newest first')
    .option('--status <status>', `one of ${ADJUSTMENT_STATUSES.join(', ')}`)
    .option('--json', 'print JSON')
    .action(async (flags: { status?: string; json?: boolean }) => {
      if (flags.status && !(ADJUSTMENT_STATUSES as readonly string[]).includes(flags.status))
        usage('status', `must be one of ${ADJUSTMENT_STATUSES.join(', ')}`);
      const page = await withContainer(ctx, (c) =>
        listAdjustments(c.deps, { status: flags.status as AdjustmentStatus | undefined, limit: 100 }),
      );
      if (flags.json) printJson(ctx, page);
      else print(ctx, page.items.length ? table(adjustmentRows(page.items)) : 'no adjustments');
    });

  const review = (name: string, description: string, fn: typeof approveAdjustment) =>
    program
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (id: string, flags: { json?: boolean }) => {
        const done = await withContainer(ctx, (c) => fn(c.deps, id, 'cli'));
        if (flags.json) printJson(ctx, done);
        else print(ctx, `adjustment ${done.id}: ${done.status}`);
      });
  review(
    'approve',
    'Apply a pending proposal as a new strategy version (409 if its parameter changed since)',
    approveAdjustment,
  );
  review('reject', 'Reject a pending proposal', rejectAdjustment);
  review('rollback', 'Apply an applied change’s old value as a new strategy version', rollbackAdjustment);

  program
    .command('strategy')
    .description('The strategy version in force and its history')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const out = await withContainer(ctx, async (c) => ({
        inForce: await strategyInForce(c.db, { settings: c.settings, now: c.deps.now() }),
        versions: await listStrategyVersions(c.db, { settings: c.settings }),
      }));
      if (flags.json) return printJson(ctx, out);
      print(ctx, `version ${out.inForce.seq} (${out.inForce.id}), applied by ${out.inForce.appliedBy}`);
      print(
        ctx,
        table(Object.entries(out.inForce.params).map(([parameter, value]) => ({ parameter, value }))),
      );
      print(ctx);
      print(
        ctx,
        table(
          out.versions.map((v) => ({
            seq: v.seq,
            by: v.appliedBy,
            change: v.change
              ? `${v.change.parameter} ${JSON.stringify(v.change.from)} -> ${JSON.stringify(v.change.to)}`
              : '',
            reason: v.reason ?? '',
            at: new Date(v.effectiveAt).toISOString(),
          })),
        ),
      );
    });
}
