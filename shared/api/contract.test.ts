/**
 * The request schemas' messages: each says what exactly is wrong in words a user can act on, naming the
 * field, and no zod default wording ("Invalid input: expected number, received NaN") gets through. The
 * same inputs are sent over HTTP in test/api/api.test.ts; this file needs no server and no data.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AppError } from '../util/errors';
import { type InputPlace, parseOrThrow } from '../util/validation';
import {
  analyzeRequestSchema,
  backtestRequestSchema,
  candlesQuerySchema,
  latestQuerySchema,
  listQuerySchema,
  tradesQuerySchema,
} from './contract';
import { portfolioHistoryQuerySchema, symbolParamSchema } from './routes';

/** zod's own wording, which must never reach a user. */
const RAW_ZOD_WORDING = /Invalid input|Invalid option|Too (big|small)|expected \w+, received|Invalid string/;

function messageOf(schema: z.ZodType, input: unknown, place: InputPlace = 'query'): string {
  try {
    parseOrThrow(schema, input, place);
  } catch (e) {
    if (e instanceof AppError) return e.message;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

const okBacktest = { symbol: 'BTCUSDT', start_date: '2024-01-01', end_date: '2024-02-01', max_decisions: 10 };

describe('symbol messages say what is wrong', () => {
  it.each([
    ['FOO', /^symbol "FOO" is too short \(3 characters\): a symbol is 5 to 20 upper-case letters and digits/],
    ['A'.repeat(25), /^symbol "A{24}…" is too long \(25 characters\)/],
    ['btcusdt', /^symbol "btcusdt" has lower-case letters:/],
    ['BTC-USDT', /^symbol "BTC-USDT" has characters other than letters and digits \("-"\):/],
    ['foo', /^symbol "foo" is too short \(3 characters\) and has lower-case letters:/],
  ])('%s', (symbol, expected) => {
    const message = messageOf(symbolParamSchema, { symbol }, 'path');
    expect(message).toMatch(expected);
    // The old single message blamed the case of an upper-case name that was only too short.
    if (symbol === 'FOO') expect(message).not.toMatch(/lower-case|other than/);
  });

  it('a missing or non-string symbol says so', () => {
    expect(messageOf(analyzeRequestSchema, {}, 'body')).toBe('symbol is required (a string like BTCUSDT)');
    expect(messageOf(analyzeRequestSchema, { symbol: 42 }, 'body')).toBe(
      'symbol must be a string like BTCUSDT, not a number',
    );
  });
});

describe('coerced number query parameters have one human message', () => {
  it.each([
    ['latest', 'abc', latestQuerySchema, 'limit must be a whole number from 1 to 1000'],
    ['latest', '1.5', latestQuerySchema, 'limit must be a whole number from 1 to 1000'],
    ['latest', '-1.5', latestQuerySchema, 'limit must be a whole number from 1 to 1000'],
    ['latest', '0', latestQuerySchema, 'limit must be a whole number from 1 to 1000'],
    ['latest', '1001', latestQuerySchema, 'limit must be a whole number from 1 to 1000'],
    ['latest', 'Infinity', latestQuerySchema, 'limit must be a whole number from 1 to 1000'],
    ['analyses', 'abc', listQuerySchema, 'limit must be a whole number from 1 to 200'],
    ['trades', '2.5', tradesQuerySchema, 'limit must be a whole number from 1 to 200'],
    ['history', 'x', portfolioHistoryQuerySchema, 'limit must be a whole number from 1 to 5000'],
  ] as const)('%s: limit=%s', (_route, limit, schema, expected) => {
    expect(messageOf(schema, { limit })).toBe(expected);
  });

  it('in-range whole numbers pass and defaults apply', () => {
    expect(latestQuerySchema.parse({ limit: '7' }).limit).toBe(7);
    expect(latestQuerySchema.parse({}).limit).toBe(200);
  });
});

describe('no zod default wording in any message a request can trigger', () => {
  const cases: [string, z.ZodType, unknown, InputPlace][] = [
    ['list cursor too long', listQuerySchema, { cursor: 'x'.repeat(300) }, 'query'],
    ['trades run_id too long', tradesQuerySchema, { run_id: 'x'.repeat(150) }, 'query'],
    ['candles without start', candlesQuerySchema, {}, 'query'],
    ['analyze wait a string', analyzeRequestSchema, { symbol: 'BTCUSDT', wait: 'yes' }, 'body'],
    [
      'analyze timestamp a number',
      analyzeRequestSchema,
      { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: 5 },
      'body',
    ],
    ['backtest without start_date', backtestRequestSchema, { ...okBacktest, start_date: undefined }, 'body'],
    [
      'backtest without max_decisions',
      backtestRequestSchema,
      { ...okBacktest, max_decisions: undefined },
      'body',
    ],
    ['backtest bad fill', backtestRequestSchema, { ...okBacktest, fill: 'mid' }, 'body'],
    ['backtest fee_bps a string', backtestRequestSchema, { ...okBacktest, fee_bps: 'x' }, 'body'],
    ['backtest fee_bps too big', backtestRequestSchema, { ...okBacktest, fee_bps: 500 }, 'body'],
    ['backtest slippage_bps negative', backtestRequestSchema, { ...okBacktest, slippage_bps: -1 }, 'body'],
    ['backtest blind a string', backtestRequestSchema, { ...okBacktest, blind: 'no' }, 'body'],
  ];

  it.each(cases)('%s', (_name, schema, input, place) => {
    const message = messageOf(schema, input, place);
    expect(message).not.toMatch(RAW_ZOD_WORDING);
    expect(message.length).toBeGreaterThan(10);
  });

  it('names the rule in the messages that replaced raw ones', () => {
    expect(messageOf(backtestRequestSchema, { ...okBacktest, fill: 'mid' }, 'body')).toBe(
      'fill must be next_open or next_close',
    );
    expect(messageOf(backtestRequestSchema, { ...okBacktest, fee_bps: 500 }, 'body')).toBe(
      'fee_bps must be a number of basis points from 0 to 100',
    );
    expect(messageOf(backtestRequestSchema, { ...okBacktest, max_decisions: undefined }, 'body')).toBe(
      'max_decisions is required (a whole number from 1 to 2000)',
    );
    expect(messageOf(candlesQuerySchema, {})).toBe(
      'start: is required (a date like 2024-01-31 or an ISO time like 2024-01-31T12:00:00Z)',
    );
    expect(messageOf(analyzeRequestSchema, { symbol: 'BTCUSDT', wait: 'yes' }, 'body')).toBe(
      'wait must be true or false (a JSON boolean)',
    );
  });
});
