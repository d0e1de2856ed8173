import { defineConfig } from 'vitest/config';

// One config for every suite. PGlite boots in 2-4 s, so each test file shares one instance
// (see shared/db/testing.ts); files run in parallel on the 2 cores.
export default defineConfig({
  test: {
    include: ['{shared,functions,cdk,web,test}/**/*.test.{ts,tsx}'],
    exclude: ['**/node_modules/**', 'web/dist/**', 'cdk.out/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['./shared/polyfills.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
