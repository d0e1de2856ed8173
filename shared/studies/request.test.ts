/**
 * A study request's variants take the backtest options POST /backtest takes, validated by the same
 * schema (so an option the backtest request gains later works in a study at once), and bad requests
 * (unknown option, a study-level field in a variant, an empty grid, a reversed window) are 400s.
 * The oversized study and "nothing started" are checked end to end in functions/local/study-workflow.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { backtestOptionsSchema, backtestRequestSchema } from '../schemas/backtest-request';
import { AppError } from '../util/errors';
import { expandStudyRequest, studyRequestSchema } from './request';

const base = {
  name: 'options',
  symbols: ['BTCUSDT', 'ETHUSDT'],
  windows: [
    { start_date: '2024-01-01', end_date: '2024-02-01' },
    { start_date: '2024-03-01', end_date: '2024-04-01' },
  ],
  timeframe: '4h',
  max_decisions: 5,
};

/** Every option POST /backtest accepts today, each set to a value other than its default. */
const EVERY_OPTION = {
  decision_interval: 6,
  fill: 'next_close',
  fee_bps: 5,
  slippage_bps: 2,
  blind: true,
  decision_mode: 'consensus',
} as const;

function refusal(input: unknown): AppError {
  try {
    expandStudyRequest(input);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a 400');
}

describe('study variants: the backtest options', () => {
  it('the variant options schema is the backtest options schema, which POST /backtest is built from', () => {
    const variant = studyRequestSchema.shape.variants.unwrap().element.shape.options.unwrap();
    expect(variant).toBe(backtestOptionsSchema);
    const requestKeys = Object.keys(backtestRequestSchema.shape);
    for (const k of Object.keys(backtestOptionsSchema.shape)) expect(requestKeys).toContain(k);
    for (const k of Object.keys(EVERY_OPTION)) expect(Object.keys(backtestOptionsSchema.shape)).toContain(k);
  });

  it('accepts every option POST /backtest accepts and hands it to each cell as given', () => {
    const { variantOptions } = expandStudyRequest({
      ...base,
      variants: [
        { label: 'all', options: EVERY_OPTION },
        { label: 'none', options: {} },
      ],
    });
    expect(variantOptions[0]).toEqual(EVERY_OPTION);
    // Defaults are the backtest request's.
    expect(variantOptions[1]).toEqual({ fill: 'next_open', blind: false });
  });

  it.each([
    ['an unknown option', { warp_speed: true }, /^variants\.0\.options\.warp_speed: unknown field/],
    ['a bad decision mode', { decision_mode: 'vote' }, /decision_mode must be pipeline or consensus/],
    ['fees out of range', { fee_bps: 500 }, /fee_bps must be a number of basis points from 0 to 100/],
    ['a study-level field', { max_decisions: 9 }, /max_decisions: set at the study level/],
    [
      'a malformed prompt version',
      { prompt_versions: { trader: 'v2' } },
      /prompt_versions\.trader: a prompt version id is 12 hex digits/,
    ],
  ])('refuses %s in a variant with a 400 naming the variant', (_name, options, message) => {
    const e = refusal({ ...base, variants: [{ label: 'x', options }] });
    expect(e.status).toBe(400);
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/variants\.0\.options/);
  });

  it('a bad option says what POST /backtest would say about it', () => {
    const viaBacktest = backtestRequestSchema.safeParse({
      ...base,
      symbol: 'BTCUSDT',
      ...base.windows[0],
      fill: 'mid',
    });
    expect(viaBacktest.success).toBe(false);
    const backtestMessage = viaBacktest.error?.issues.find((i) => i.path[0] === 'fill')?.message ?? '';
    expect(backtestMessage).not.toBe('');
    expect(refusal({ ...base, variants: [{ label: 'x', options: { fill: 'mid' } }] }).message).toContain(
      backtestMessage,
    );
  });

  it.each([
    ['an empty window list', { windows: [] }, /windows: the grid is empty/],
    [
      'a rolling spec where no window fits',
      { windows: { start_date: '2024-01-01', end_date: '2024-01-10', window_days: 30, step_days: 30 } },
      /windows: the grid is empty/,
    ],
    ['no variant and no baseline', { variants: [], baselines: [] }, /variants: the grid is empty/],
    [
      'a reversed window',
      { windows: [{ start_date: '2024-02-01', end_date: '2024-01-01' }] },
      /windows\.0\.end_date: must be after start_date/,
    ],
    ['no symbol', { symbols: [] }, /symbols: give at least one symbol/],
  ])('refuses %s with a 400', (_name, over, message) => {
    const e = refusal({ ...base, variants: [{ label: 'plain', options: {} }], ...over });
    expect(e.status).toBe(400);
    expect(e.message).toMatch(message);
  });
});
