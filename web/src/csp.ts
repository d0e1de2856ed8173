/**
 * The page runs under a Content-Security-Policy without 'unsafe-eval' (functions/api/security.ts).
 * zod compiles fast object parsers with `new Function` when it may; its probe for that is refused by
 * the CSP and reported as a violation even though zod catches it. Jitless mode parses the same, without
 * the probe. Imported first by main.tsx, before any schema parses.
 */
import { z } from 'zod';

z.config({ jitless: true });
