/** Lambda entry of the backtest tasks: plan, start a decision point, simulate and persist, mark failed. */
import { backtestStepFns } from '../workflow/bindings';
import { createBacktestStepsHandler } from '../workflow/tasks';
import { getLambdaContainer } from './runtime';

export const handler = createBacktestStepsHandler(
  async () => (await getLambdaContainer()).deps,
  backtestStepFns,
);
