/**
 * End-to-end: the built web app in headless Chromium (Debian's package, driven by playwright-core)
 * against the real local host (`startLocalServer`): offline agents, PGlite in memory, and a local
 * Binance-protocol server loaded with real BTCUSDT candles from ../shared/data/binance.
 *
 * The exchange clock and the product's clock are pinned to a moment inside the files (NOW), so "latest"
 * means real candles up to then. Each view is saved to docs/screenshots/<view>.png (1280x800)
 * for the README. Every page is watched for console errors and uncaught exceptions; any one fails the
 * test that opened it.
 *
 * The app's accessibility claims are checked here too, on the same pages the functional tests open:
 * - axe-core (WCAG 2.0/2.1 A and AA rules, and axe's best practices) runs on every view; any `serious`
 *   or `critical` violation fails with its rule id, targets and summary. No rule is disabled and
 *   nothing is excluded, not even the lightweight-charts internals (their containers carry role="img"
 *   and an aria-label).
 * - keyboard: Tab reaches the nav, the symbol selector and "Run analysis" with a visible focus ring,
 *   and Enter starts the analysis.
 * - narrow viewport (700x800, a laptop's half screen): no view overflows horizontally.
 *
 * Security (only the product's own page may write):
 * - the app runs under the local host's Content-Security-Policy (the one CloudFront sends too): every
 *   CSP violation is reported to the console by an init script and fails the test, like any error.
 *   axe-core is therefore injected through the DevTools protocol, not as an inline script tag.
 * - an attacker page on another site (served on `attacker.test`, which Chromium resolves to 127.0.0.1)
 *   tries a no-cors text/plain fetch, an auto-submitted form and a JSON fetch against POST /analyze:
 *   each is refused and the book is unchanged; the product under the attacker's name (DNS rebinding)
 *   answers 421.
 * - screenshots are taken only once every chart on the page has drawn (no "Loading chart…").
 *
 * Gated on TEST_E2E=1 (CI sets it): it needs Chromium at /usr/bin/chromium and takes a while.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../functions/local/server';
import { loadSettings } from '../../shared/config/settings';
import type { Kline } from '../../shared/market/types';
import { ensureWebBuild } from '../../web/build-freshness';
import { type BinanceServer, loadKlinesFromCsv, startBinanceServer } from '../helpers/binance-server';
import {
  generateFng,
  generateFunding,
  type SentimentServer,
  startSentimentServer,
} from '../helpers/sentiment-server';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA = resolve(ROOT, '../shared/data/binance');
const WEB_DIST = resolve(ROOT, 'web/dist');
const SCREENSHOTS = resolve(ROOT, 'docs/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // A name of another site for the attacker page, resolved to this machine.
  '--host-resolver-rules=MAP attacker.test 127.0.0.1',
];
const ATTACKER_HOST = 'attacker.test';
const VIEWPORT = { width: 1280, height: 800 };
/** A laptop's half screen: every view must fit it without horizontal scrolling. */
const NARROW_VIEWPORT = { width: 700, height: 800 };
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/**
 * The rule sets axe-core runs: WCAG 2.0/2.1 A and AA, plus axe's best practices (landmarks, heading
 * order, one main), which the WCAG tags do not cover.
 */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
/** Impacts that fail the audit. */
const BLOCKING_IMPACTS = ['serious', 'critical'];
const SYMBOL = 'BTCUSDT';
/** A configured symbol the exchange lists without any candle (Binance answers [] for it). */
const EMPTY_SYMBOL = 'SOLUSDT';
/** The files this suite serves as the exchange's history. */
const SERIES = [
  { timeframe: '1h', file: 'BTCUSDT-1h.csv.gz' },
  { timeframe: '4h', file: 'BTCUSDT-4h.csv' },
  { timeframe: '1d', file: 'BTCUSDT-1d.csv' },
] as const;
/** "Now" for the exchange and the product: a moment inside the real data files. */
const NOW = Date.parse('2025-10-05T12:00:00Z');
/** First day of the local sentiment server's synthetic Fear & Greed and funding series. */
const SENTIMENT_FROM = Date.parse('2024-09-01T00:00:00Z');
/** A small backtest before NOW: 12 decisions, one every 7.5 days on 4h candles. */
const BACKTEST = {
  start: '2025-07-01',
  end: '2025-09-30',
  timeframe: '4h',
  maxDecisions: '12',
  interval: '45',
};
/** A small study before NOW: 1 symbol x 2 windows x 2 variants (3 decisions each) + 3 baselines = 10 cells. */
const STUDY = {
  name: 'e2e: plain vs blind',
  symbols: [SYMBOL],
  windows: [
    { start_date: '2025-06-01', end_date: '2025-07-01' },
    { start_date: '2025-07-01', end_date: '2025-08-01' },
  ],
  timeframe: '4h',
  max_decisions: 3,
  variants: [
    { label: 'plain', options: {} },
    { label: 'blind', options: { blind: true } },
  ],
  baselines: ['buy_and_hold', 'sma_crossover', 'random'],
  seed: 3,
  bootstrap_replicates: 200,
};
const STUDY_CELLS = 10;
const UI_TIMEOUT_MS = 30_000;
/** Skip link + five nav links + two selectors + the button, with headroom for links in the page. */
const MAX_TABS_TO_RUN_ANALYSIS = 40;
const BACKTEST_TIMEOUT_MS = 120_000;

const enabled = !!process.env.TEST_E2E;
const hasData = existsSync(DATA);
const skipReason = !enabled
  ? 'e2e (skipped: set TEST_E2E=1 to run the browser suite; needs chromium at /usr/bin/chromium)'
  : !hasData
    ? 'e2e (skipped: ../shared/data/binance not present)'
    : 'e2e: web app in headless Chromium against the local host';

describe.skipIf(!enabled || !hasData)(skipReason, () => {
  let binance: BinanceServer;
  let sentiment: SentimentServer;
  let server: LocalServer;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    // The suite needs a production build of the current sources: made when missing or stale.
    await ensureWebBuild();
    const candles: Record<string, Kline[]> = {};
    let lastClose = 0;
    for (const s of SERIES) {
      const klines = await loadKlinesFromCsv(resolve(DATA, s.file), s.timeframe);
      candles[`${SYMBOL}:${s.timeframe}`] = klines;
      lastClose = Math.max(lastClose, klines.at(-1)?.closeTime ?? 0);
    }
    // The exchange's and the product's clock, inside the real data (a rising market, so the offline
    // rules buy and every view has something to show). Candles after it do not exist yet.
    expect(NOW).toBeLessThan(lastClose);
    const now = () => NOW;
    binance = await startBinanceServer({ candles, symbols: [EMPTY_SYMBOL], now });
    // Fear & Greed and BTCUSDT funding (synthetic, in the providers' shapes) up to NOW.
    sentiment = await startSentimentServer({
      fng: generateFng({
        startDay: SENTIMENT_FROM,
        days: Math.ceil((NOW - SENTIMENT_FROM) / 86_400_000) + 1,
      }),
      funding: {
        [SYMBOL]: generateFunding({
          start: SENTIMENT_FROM,
          count: Math.ceil((NOW - SENTIMENT_FROM) / 28_800_000) + 1,
        }),
      },
      now,
    });
    // The product's clock starts at NOW and runs, so analyses a few seconds apart are valued at
    // different times (the portfolio's equity curve); the suite ends long before the next 1h bar.
    const startedAt = Date.now();
    const productNow = () => NOW + (Date.now() - startedAt);
    const settings = loadSettings({
      DATA_DIR: 'memory://',
      LLM_PROVIDER: 'offline',
      SYMBOLS: `${SYMBOL},${EMPTY_SYMBOL}`,
      LOG_LEVEL: 'silent',
      BINANCE_BASE_URL: binance.url,
      BINANCE_FALLBACK_URL: binance.url,
      FNG_BASE_URL: sentiment.url,
      BINANCE_FUTURES_BASE_URL: sentiment.url,
    });
    server = await startLocalServer({
      settings,
      port: 0,
      webDist: WEB_DIST,
      logger: pino({ level: 'silent' }),
      containerOverrides: { now: productNow, binanceBaseUrl: binance.url, binanceFallbackUrl: null },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: VIEWPORT, baseURL: server.url });
    // Any CSP violation becomes a console error, which fails the test that opened the page.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
      });
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await binance?.close();
    await sentiment?.close();
  });

  /** A page that records console errors and uncaught exceptions, for the "no console errors" check. */
  async function open(path: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await page.goto(path);
    return { page, errors };
  }

  /** Every chart on the page has drawn: no lazy placeholder left, and each chart has its canvas. */
  async function chartsDrawn(page: Page) {
    await page.waitForFunction(() => {
      if (document.querySelector('.chart-loading')) return false;
      return [...document.querySelectorAll('.chart')].every((c) => c.querySelector('canvas') !== null);
    });
  }

  async function shot(page: Page, view: string) {
    await chartsDrawn(page);
    expect(await page.getByText('Loading chart…').count(), `${view}: a chart still loading`).toBe(0);
    await page.screenshot({ path: resolve(SCREENSHOTS, `${view}.png`) });
  }

  /** Runs axe-core's WCAG 2 A/AA rules on the page; fails on any serious or critical violation. */
  async function audit(page: Page, view: string) {
    // Through the DevTools protocol, which the page's CSP does not govern (a script tag would be refused).
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate(async (tags) => {
      type AxeNode = { target: unknown[]; failureSummary?: string };
      type AxeResult = { id: string; impact?: string | null; help: string; nodes: AxeNode[] };
      const axe = (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<unknown> } }).axe;
      const result = (await axe.run(document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'],
      })) as { violations: AxeResult[] };
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact ?? null,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary ?? '' })),
      }));
    }, AXE_TAGS);
    const blocking = violations.filter((v) => v.impact && BLOCKING_IMPACTS.includes(v.impact));
    const report = blocking
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.help}\n` +
          v.nodes.map((n) => `  - ${n.target}: ${n.summary.replace(/\s+/g, ' ')}`).join('\n'),
      )
      .join('\n');
    expect(blocking, `axe on ${view}:\n${report}`).toEqual([]);
  }

  /** At a laptop's half-screen width the page must not scroll sideways; restores the viewport after. */
  async function checkNarrow(page: Page, view: string, screenshot = false) {
    await page.setViewportSize(NARROW_VIEWPORT);
    try {
      // Measured after two frames, so charts' ResizeObserver-driven relayout has happened.
      const { scrollWidth, clientWidth } = await page.evaluate(async () => {
        for (let i = 0; i < 2; i++) await new Promise((r) => requestAnimationFrame(() => r(null)));
        const d = document.documentElement;
        return { scrollWidth: d.scrollWidth, clientWidth: d.clientWidth };
      });
      expect(
        scrollWidth - clientWidth,
        `${view} overflows horizontally at ${NARROW_VIEWPORT.width}px (scrollWidth ${scrollWidth}, clientWidth ${clientWidth})`,
      ).toBeLessThanOrEqual(1);
      if (screenshot) await page.screenshot({ path: resolve(SCREENSHOTS, `${view}-narrow.png`) });
    } finally {
      await page.setViewportSize(VIEWPORT);
    }
  }

  it('dashboard: shows the market, runs an analysis and opens it with all six agent cards', async () => {
    const { page, errors } = await open('/');
    await expect.poll(() => page.getByText('Simulated portfolio — no real trading').isVisible()).toBe(true);
    await page.locator('.chart canvas').first().waitFor();
    expect(await page.getByTestId('last-price').textContent()).toMatch(/\d{2},\d{3}\.\d{2}/);
    // Beside the price: the Fear & Greed Index and the funding rate, from the local sentiment server.
    await expect
      .poll(() => page.getByTestId('fear-greed').textContent())
      .toMatch(/^Fear & Greed\d{1,2}(Extreme Fear|Fear|Neutral|Greed|Extreme Greed)/);
    await expect.poll(() => page.getByTestId('funding-rate').textContent()).toMatch(/-?\+?0\.\d{4}%/);
    await shot(page, 'dashboard');
    await audit(page, 'dashboard');
    await checkNarrow(page, 'dashboard', true);

    await page.getByTestId('run-analysis').click();
    await page.waitForURL(/\/analyses\/[^/]+$/, { timeout: BACKTEST_TIMEOUT_MS });
    const cards = page.locator('[data-testid="agent-cards"] > article');
    await cards.first().waitFor();
    expect(await cards.count()).toBe(6);
    for (const agent of ['technical', 'sentiment', 'tokenomics', 'researcher', 'trader', 'risk']) {
      await page.getByTestId(`agent-${agent}`).waitFor();
    }
    await expect
      .poll(() => page.getByTestId('final-decision').textContent())
      .toMatch(/BUY|SELL|HOLD|No decision/);
    expect(await page.getByText('Offline provider (rules, no model)').count()).toBeGreaterThan(0);
    await page.locator('.chart canvas').first().waitFor();
    await shot(page, 'analysis');
    await audit(page, 'analysis');
    await checkNarrow(page, 'analysis');

    // Deep link: a reload of /analyses/:id renders the same record.
    const url = page.url();
    await page.reload();
    await page.getByTestId('agent-risk').waitFor();
    expect(page.url()).toBe(url);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keyboard: Tab reaches the nav, the symbol selector and Run analysis with a visible focus ring; Enter runs it', async () => {
    const { page, errors } = await open('/');
    await page.locator('.chart canvas').first().waitFor();
    const run = page.getByTestId('run-analysis');
    await expect.poll(() => run.isEnabled()).toBe(true);
    await page.locator('body').focus();
    type Focused = { key: string; ring: boolean };
    const seen: Focused[] = [];
    // Tab until Run analysis has focus (bounded: a focus trap or an unreachable button fails here).
    for (let i = 0; i < MAX_TABS_TO_RUN_ANALYSIS; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        const outline = style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) > 0;
        const shadow = style.boxShadow !== 'none';
        const key =
          el.getAttribute('data-testid') ??
          el.getAttribute('aria-label') ??
          `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`;
        return { key, ring: outline || shadow };
      });
      expect(focused, `Tab #${i + 1} left focus on the body`).not.toBeNull();
      if (!focused) break;
      seen.push(focused);
      if (focused.key === 'run-analysis') break;
    }
    const keys = seen.map((f) => f.key);
    for (const nav of [
      'a:Dashboard',
      'a:Analyses',
      'a:Portfolio',
      'a:Backtests',
      'a:Costs',
      'Symbol',
      'run-analysis',
    ]) {
      expect(keys, `Tab order: ${keys.join(' → ')}`).toContain(nav);
    }
    const noRing = seen.filter((f) => !f.ring).map((f) => f.key);
    expect(noRing, 'focused elements without a visible focus indicator').toEqual([]);
    expect(await run.evaluate((el) => el === document.activeElement)).toBe(true);

    await page.keyboard.press('Enter');
    await page.waitForURL(/\/analyses\/[^/]+$/, { timeout: BACKTEST_TIMEOUT_MS });
    await page.getByTestId('agent-risk').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard: a symbol without closed candles shows what to do, never a price of 0', async () => {
    const { page, errors } = await open(`/?symbol=${EMPTY_SYMBOL}&tf=4h`);
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain(`No closed ${EMPTY_SYMBOL} 4h candles yet`);
    expect(text).toContain('npm run cli -- import');
    expect(text).toContain('BINANCE_BASE_URL');
    expect(text).toContain('INSUFFICIENT_DATA, HTTP 422');
    expect(await page.getByTestId('last-price').count()).toBe(0);
    await audit(page, 'dashboard (no candles)');
    // The browser logs the 422 response itself; nothing else may fail.
    expect(errors.filter((e) => !/status of 422/.test(e))).toEqual([]);
    await page.close();
  });

  it('analyses: the history lists the analysis just run', async () => {
    const { page, errors } = await open('/analyses');
    const rows = page.locator('[data-testid="analyses-table"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBeGreaterThan(0);
    await shot(page, 'analyses');
    await audit(page, 'analyses');
    await checkNarrow(page, 'analyses');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('backtest: refuses an invalid form before sending and shows the rule next to the field', async () => {
    const { page, errors } = await open('/backtests');
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(r.url());
    });
    await page.getByTestId('backtest-form').waitFor();
    await page.fill('input[name=max_decisions]', '0');
    await page.fill('input[name=decision_interval]', 'abc');
    await page.getByTestId('start-backtest').click();
    await expect.poll(() => page.getByText('max_decisions must be at least 1').isVisible()).toBe(true);
    expect(await page.getByText('decision_interval must be a whole number of candles').isVisible()).toBe(
      true,
    );
    expect(await page.getByTestId('form-errors').textContent()).toMatch(/Fix 2 fields/);
    expect(await page.locator('input[name=max_decisions]').getAttribute('aria-invalid')).toBe('true');
    expect(posts).toEqual([]);
    await shot(page, 'backtest-validation');
    await audit(page, 'backtests form (with errors)');
    await checkNarrow(page, 'backtests form');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('backtest: runs a small backtest and shows its estimate, metrics, charts and decisions', async () => {
    const { page, errors } = await open('/backtests');
    await page.getByTestId('backtest-form').waitFor();
    await page.fill('input[name=start_date]', BACKTEST.start);
    await page.fill('input[name=end_date]', BACKTEST.end);
    await page.locator('select').nth(1).selectOption(BACKTEST.timeframe);
    await page.fill('input[name=max_decisions]', BACKTEST.maxDecisions);
    await page.fill('input[name=decision_interval]', BACKTEST.interval);
    await page.getByTestId('start-backtest').click();
    await page.waitForURL(/\/backtests\/[^/]+$/);
    await page.getByTestId('estimate').waitFor();
    await page.getByTestId('backtest-metrics').waitFor({ timeout: BACKTEST_TIMEOUT_MS });
    expect(await page.getByTestId('metric-return').textContent()).toMatch(/-?\+?\d+\.\d{2}%/);
    for (const label of [
      'Max drawdown',
      'Sharpe (daily, ann.)',
      'Win rate',
      'Trades',
      'Fees paid',
      'LLM spend',
      'Buy and hold',
    ]) {
      expect(await page.getByTestId('backtest-metrics').getByText(label, { exact: true }).isVisible()).toBe(
        true,
      );
    }
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
    // Buy and hold is drawn beside the strategy, and the trades on the backtest's own candles.
    await page.getByText('— buy & hold').waitFor();
    expect(await page.getByText('buy-and-hold curve not in the result').count()).toBe(0);
    await page
      .getByRole('img', { name: /price over the backtest's period/ })
      .locator('canvas')
      .first()
      .waitFor();
    const decisions = page.locator('[data-testid="backtest-decisions"] tbody tr');
    expect(await decisions.count()).toBeGreaterThan(0);
    await shot(page, 'backtest');
    await audit(page, 'backtest result');
    await checkNarrow(page, 'backtest result');

    // Each decision opens its agents' reasoning.
    await decisions.first().getByRole('link').click();
    await page.waitForURL(/\/analyses\/[^/]+$/);
    await page.getByTestId('agent-technical').waitFor();

    await page.goto('/backtests');
    await page.locator('[data-testid="backtests-table"] tbody tr').first().waitFor();
    await shot(page, 'backtests');
    await audit(page, 'backtests');
    await checkNarrow(page, 'backtests');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('studies: submits a small study, follows its progress, then shows the heatmap and the report', async () => {
    const { page, errors } = await open('/studies');
    const request = page.getByLabel('Request (the POST /studies body)');
    await request.waitFor();
    await request.fill(JSON.stringify(STUDY, null, 2));
    await page.getByRole('button', { name: 'Start study' }).click();
    // The 202: cell count and the pre-flight estimate (offline: $0), before the link to the study.
    const estimate = page.getByTestId('study-estimate');
    await estimate.waitFor();
    expect(await estimate.textContent()).toMatch(
      new RegExp(
        `^${STUDY_CELLS} cells \\(4 backtests, 6 baselines\\), 12 decisions, estimate \\$0(\\.0+)? \\(offline\\)`,
      ),
    );
    await audit(page, 'studies form');
    await checkNarrow(page, 'studies form');
    await page.getByRole('link', { name: 'Follow the study' }).click();
    await page.waitForURL(/\/studies\/[^/]+$/);

    // Progress per cell while it runs, then every cell done and the report.
    const progress = page.getByTestId('study-progress');
    await progress.waitFor();
    expect(await progress.textContent()).toMatch(new RegExp(`^\\d+/${STUDY_CELLS} cells$`));
    await expect
      .poll(() => progress.textContent(), { timeout: BACKTEST_TIMEOUT_MS })
      .toBe(`${STUDY_CELLS}/${STUDY_CELLS} cells`);
    const report = page.getByTestId('study-report');
    await report.waitFor({ timeout: BACKTEST_TIMEOUT_MS });

    // The heatmap: one row per window, a column per variant and baseline, each cell's excess in %.
    const heatmap = page.getByTestId('study-heatmap');
    expect(await heatmap.locator('thead th').allTextContents()).toEqual([
      'cell',
      'plain',
      'blind',
      'buy_and_hold',
      'sma_crossover',
      'random',
    ]);
    const heatRows = heatmap.locator('tbody tr');
    expect(await heatRows.count()).toBe(2);
    for (const text of await heatRows.allTextContents())
      expect(text).toMatch(/^BTCUSDT .*([-+]?\d+\.\d{2}%.*){5}$/);
    // Buy-and-hold against itself: excess 0 in every window.
    expect(await heatRows.locator('td:nth-child(4)').allTextContents()).toEqual(['0.00%', '0.00%']);

    // The report table: one row per arm, each over its 2 windows, and one sentence per arm.
    const armRows = report.locator('tbody tr');
    expect(await armRows.locator('td:first-child').allTextContents()).toEqual([
      'plain',
      'blind',
      'buy_and_hold',
      'sma_crossover',
      'random',
    ]);
    expect(await armRows.locator('td:nth-child(2)').allTextContents()).toEqual(Array(5).fill('2/2'));
    expect(await page.getByText(/^plain (beat|did not beat|did worse than) buy-and-hold/).count()).toBe(1);
    // The equity overlays are drawn (one per cell).
    expect(
      await page.getByRole('img', { name: 'equity (solid) against buy-and-hold (dashed)' }).count(),
    ).toBe(STUDY_CELLS);

    // The CSV link downloads the cells from the API (not the app).
    const csvHref = await page.getByRole('link', { name: 'Download the cells (CSV)' }).getAttribute('href');
    const csv = await page.request.get(csvHref ?? '', { headers: { accept: 'text/html,*/*' } });
    expect(csv.status()).toBe(200);
    expect((await csv.text()).trim().split('\n')).toHaveLength(STUDY_CELLS + 1);

    await shot(page, 'study');
    await audit(page, 'study');
    await checkNarrow(page, 'study');
    // A reload of /studies/:id renders the same study (the app, not the API's JSON).
    await page.reload();
    await page.getByTestId('study-report').waitFor();

    await page.goto('/studies');
    await page.getByRole('link', { name: STUDY.name }).waitFor();
    await shot(page, 'studies');
    await audit(page, 'studies');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('portfolio: shows equity, cash, returns, the equity curve and the trade history', async () => {
    // A second live analysis (the dashboard ran the first): each one values the book once.
    const second = await fetch(`${server.url}/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: SYMBOL, timeframe: '4h' }),
    });
    expect(second.status).toBe(200);
    const history = (await (await fetch(`${server.url}/portfolio/history`)).json()) as { points: unknown[] };
    expect(history.points.length).toBeGreaterThanOrEqual(2);
    const { page, errors } = await open('/portfolio');
    await page.getByTestId('equity').waitFor();
    expect(await page.getByTestId('equity').textContent()).toMatch(/\$\d{1,3}(,\d{3})*\.\d{2}/);
    for (const label of ['Total return', 'Cash', 'Realized PnL', 'Fees paid']) {
      expect(await page.getByTestId('portfolio-stats').getByText(label, { exact: true }).isVisible()).toBe(
        true,
      );
    }
    await page.getByText('Trade history').waitFor();
    await page.locator('.loading').waitFor({ state: 'detached' });
    // The equity curve is drawn (not the "not enough history" note).
    await page.getByRole('img', { name: 'Equity over time' }).locator('canvas').first().waitFor();
    expect(await page.getByText('Not enough history yet').count()).toBe(0);
    await shot(page, 'portfolio');
    await audit(page, 'portfolio');
    await checkNarrow(page, 'portfolio');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('costs: shows the budget bar, the per-agent table and the price table', async () => {
    const { page, errors } = await open('/costs');
    await page.getByTestId('budget').waitFor();
    expect(await page.getByRole('meter').getAttribute('aria-valuemax')).toMatch(/^\d+$/);
    await page.getByTestId('price-table').waitFor();
    await shot(page, 'costs');
    await audit(page, 'costs');
    await checkNarrow(page, 'costs');
    expect(errors).toEqual([]);
    await page.close();
  });

  it("prompts: lists the agents, the trader's versions with their scores and sample size, and a text", async () => {
    const { page, errors } = await open('/prompts/trader');
    await page.getByTestId('prompt-agents').waitFor();
    await page.getByTestId('prompt-versions').waitFor();
    expect(
      await page.getByTestId('prompt-agents').getByRole('link', { name: 'Strategy builder' }).count(),
    ).toBe(1);
    const versions = page.getByTestId('prompt-versions');
    expect(await versions.getByText('builtin', { exact: true }).count()).toBeGreaterThan(0);
    expect(await versions.getByText('active', { exact: true }).count()).toBe(1);
    await versions.getByRole('button', { name: 'Text' }).first().click();
    await page.getByTestId('prompt-text').locator('pre').waitFor();
    expect(await page.getByTestId('prompt-text').locator('pre').textContent()).toMatch(/You are the trader/);
    await shot(page, 'prompts');
    await audit(page, 'prompts');
    await checkNarrow(page, 'prompts');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the page carries the CSP and the security headers', async () => {
    const { page, errors } = await open('/');
    const res = await page.request.get('/', { headers: { accept: 'text/html' } });
    const csp = res.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers()['x-content-type-options']).toBe('nosniff');
    expect(res.headers()['referrer-policy']).toBe('no-referrer');
    await page.getByTestId('run-analysis').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an attacker page on another site cannot write: no-cors text/plain, a form and a JSON fetch are refused', async () => {
    const count = async (path: string) =>
      ((await (await fetch(`${server.url}${path}`)).json()) as { items: unknown[] }).items.length;
    const before = {
      trades: await count('/trades?limit=200'),
      analyses: await count('/analyses?limit=200'),
      portfolio: await (await fetch(`${server.url}/portfolio`)).json(),
    };
    const target = `${server.url}/analyze`;
    const body = JSON.stringify({ symbol: SYMBOL, timeframe: '4h' });
    const attackerHtml = `<!doctype html><html><body>
<iframe name="sink" title="sink"></iframe>
<form id="f" method="POST" action="${target}" enctype="text/plain" target="sink">
<input type="hidden" name='{"symbol":"${SYMBOL}","timeframe":"4h","x":"' value='"}'></form>
<script>
window.results = {};
fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(body)} })
  .then(function (r) { window.results.noCors = r.type; }, function (e) { window.results.noCors = 'error ' + e; });
fetch(${JSON.stringify(target)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(body)} })
  .then(function (r) { window.results.json = 'status ' + r.status; }, function (e) { window.results.json = 'refused'; });
document.getElementById('f').submit();
</script></body></html>`;
    const attacker: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(attackerHtml);
    });
    await new Promise<void>((ok) => attacker.listen(0, '127.0.0.1', ok));
    const attackerUrl = `http://${ATTACKER_HOST}:${(attacker.address() as AddressInfo).port}/`;
    const page = await context.newPage();
    const answers: { method: string; status: number }[] = [];
    page.on('response', (r) => {
      if (r.url() === target) answers.push({ method: r.request().method(), status: r.status() });
    });
    try {
      await page.goto(attackerUrl);
      await expect
        .poll(() => page.evaluate(() => (window as unknown as { results: Record<string, string> }).results))
        .toEqual({ noCors: 'opaque', json: 'refused' });
      // The form's answer (a 403, which the browser will not even show in the frame: frame-ancestors).
      await expect.poll(() => answers.filter((a) => a.method === 'POST').length).toBe(2);
      // Every POST that reached the server was refused; the JSON fetch never got past its preflight.
      expect(answers.filter((a) => a.method === 'POST').map((a) => a.status)).toEqual([403, 403]);
      expect(answers.filter((a) => a.method === 'OPTIONS').every((a) => a.status === 204)).toBe(true);
      expect(await count('/trades?limit=200')).toBe(before.trades);
      expect(await count('/analyses?limit=200')).toBe(before.analyses);
      expect({ ...(await (await fetch(`${server.url}/portfolio`)).json()), asOf: null }).toEqual({
        ...before.portfolio,
        asOf: null,
      });
      // DNS rebinding: the product under the attacker's name serves nothing.
      const rebound = await page.goto(`http://${ATTACKER_HOST}:${new URL(server.url).port}/portfolio`);
      expect(rebound?.status()).toBe(421);
    } finally {
      await page.close();
      await new Promise((ok) => attacker.close(ok));
    }
  });

  it('shows a clear not-found message for an unknown analysis', async () => {
    const { page } = await open('/analyses/does-not-exist');
    await page.getByRole('alert').first().waitFor();
    expect(await page.getByRole('alert').first().textContent()).toMatch(
      /NOT_FOUND|not found|VALIDATION_ERROR/i,
    );
    await page.close();
  });
});
