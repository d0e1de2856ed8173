/**
 * Backtests in the API contract's shape: the pipeline's view (shared/pipeline/backtest/read.ts) with its
 * times as ISO-8601 strings, for GET /backtests, GET /backtests/{id} and the CLI's --json.
 */
import { type BacktestView, getBacktest, listBacktests } from '../pipeline/backtest/read';
import type { PipelineDeps } from '../pipeline/deps';
import type { BacktestDto } from './contract';

type ListedView = Omit<BacktestView, 'result'>;

function withIsoTimes<V extends ListedView>(v: V) {
  return {
    ...v,
    startDate: v.startDate.toISOString(),
    endDate: v.endDate.toISOString(),
    createdAt: v.createdAt.toISOString(),
    finishedAt: v.finishedAt ? v.finishedAt.toISOString() : null,
  };
}

export function backtestDto(v: BacktestView): BacktestDto {
  return withIsoTimes(v);
}

export function listedBacktestDto(v: ListedView): Omit<BacktestDto, 'result'> {
  return withIsoTimes(v);
}

export async function backtestResponse(deps: PipelineDeps, id: string): Promise<BacktestDto> {
  return backtestDto(await getBacktest(deps, id));
}

export async function backtestsPage(
  deps: PipelineDeps,
  q: { limit: number; cursor?: string | undefined },
): Promise<{ items: Omit<BacktestDto, 'result'>[]; nextCursor: string | null }> {
  const page = await listBacktests(deps, q);
  return { items: page.items.map(listedBacktestDto), nextCursor: page.nextCursor };
}
