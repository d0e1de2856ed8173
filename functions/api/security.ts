/**
 * Who may write, and the security headers: the rules every host applies before a route runs.
 *
 * Why: browsers send "simple" cross-site requests (a form POST, a no-cors `fetch` with `text/plain`)
 * without a preflight. The absence of CORS headers only hides the answer from the other page; the
 * request itself still runs. So a write is refused here, before anything runs, when it
 * - is not JSON: a POST/PUT/PATCH/DELETE whose Content-Type is not `application/json` (parameters such
 *   as charset allowed) is 415 UNSUPPORTED_MEDIA_TYPE (a write with no body and no Content-Type, such
 *   as `curl -X POST`, has nothing to misparse and passes). A browser cannot send `application/json` to
 *   another origin without a preflight, which this API never grants to an unlisted origin;
 * - comes from another site: `Sec-Fetch-Site: cross-site`, or an `Origin` that is neither the origin the
 *   request was addressed to (its Host, or the X-Forwarded-Host a proxy in front set: CloudFront's
 *   viewer-request function on AWS, the web dev server locally) nor listed in CORS_ORIGIN, is 403
 *   CROSS_ORIGIN. `Origin: null` (sandboxed frames, data: pages) is refused too;
 * - lacks the write key, when one is configured (AWS `-c writeKey=true`): 401 WRITE_KEY_REQUIRED without
 *   the `X-Write-Key` header, 403 WRITE_KEY_INVALID with a wrong one (a constant-time compare).
 * Requests with neither Origin nor Sec-Fetch-Site (curl, the CLI, scripts) pass the origin rule: they
 * are not a browser acting for a page, so there is no victim whose credentials or network position they
 * borrow. Reads are never refused here (a cross-site page cannot read the answers: no CORS grant).
 *
 * The Host rule (local host only, functions/local/server.ts): a DNS-rebinding page reaches 127.0.0.1
 * under its own name, so its requests are same-origin to the browser and carry `Host: attacker.example`.
 * Only loopback names, the configured HOST and ALLOWED_HOSTS are served; anything else is 421
 * HOST_NOT_ALLOWED. On AWS, CloudFront and API Gateway route by Host already.
 *
 * Pure functions over method and lower-cased headers: the shared route group (http.ts) calls them in
 * both hosts, and cdk/ reads the header values from here, so the page's policy is written once.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../shared/util/errors';

export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The header a client sends the write key in (the web app after asking once; the CLI from WRITE_KEY). */
export const WRITE_KEY_HEADER = 'x-write-key';

export interface WriteGuardOptions {
  /** Exact origins (CORS_ORIGIN) allowed besides the request's own. */
  allowedOrigins: ReadonlySet<string>;
  /** When set, every write must carry it in X-Write-Key. */
  writeKey?: string | undefined;
  /** Whether the request has a body: a bodiless write without Content-Type has nothing to misparse. */
  hasBody?: boolean;
}

/** True for `application/json` with optional parameters (`; charset=utf-8`), case-insensitive. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const media = value.split(';')[0]?.trim().toLowerCase();
  return media === 'application/json';
}

/** `host[:port]` of an origin or a Host header value, normalized (default ports dropped), or undefined. */
function authorityOf(value: string, scheme = 'http'): string | undefined {
  try {
    return new URL(value.includes('://') ? value : `${scheme}://${value}`).host.toLowerCase();
  } catch {
    return undefined;
  }
}

function originOf(value: string): string | undefined {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * The authorities (host[:port]) the request was addressed to: its Host, and the X-Forwarded-Host a
 * proxy in front set (first value). A browser cannot set X-Forwarded-Host on a request without a
 * preflight, so a page cannot use it to pass for another origin.
 */
function addressedTo(headers: Record<string, string>): string[] {
  const out: string[] = [];
  const forwarded = headers['x-forwarded-host']?.split(',')[0]?.trim();
  for (const h of [forwarded, headers.host]) {
    const a = h ? authorityOf(h) : undefined;
    if (a) out.push(a);
  }
  return out;
}

/** The 403 for a write from another site, or undefined when the origin rule lets it through. */
export function crossOriginError(
  headers: Record<string, string>,
  allowedOrigins: ReadonlySet<string>,
): AppError | undefined {
  const site = headers['sec-fetch-site']?.trim().toLowerCase();
  const origin = headers.origin?.trim();
  const refuse = (why: string) =>
    new AppError(
      'CROSS_ORIGIN',
      `Refused: ${why}. Only the product's own page (or an origin listed in CORS_ORIGIN) may write; ` +
        'scripts and the CLI send no Origin and are not affected.',
      { ...(origin !== undefined ? { origin } : {}), ...(site ? { secFetchSite: site } : {}) },
    );
  if (site === 'cross-site') return refuse('a write from another site (Sec-Fetch-Site: cross-site)');
  if (origin === undefined) return undefined;
  const normalized = originOf(origin);
  if (!normalized) return refuse(`a write from origin ${JSON.stringify(origin)}`);
  if (allowedOrigins.has(normalized)) return undefined;
  const own = authorityOf(normalized);
  if (own && addressedTo(headers).includes(own)) return undefined;
  return refuse(`a write from origin ${normalized}, which is not this site`);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time equality of two strings (hashed first, so lengths leak nothing either). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function writeKeyError(headers: Record<string, string>, writeKey: string): AppError | undefined {
  const given = headers[WRITE_KEY_HEADER];
  if (given === undefined || given === '')
    return new AppError(
      'WRITE_KEY_REQUIRED',
      'This deployment requires a write key: send it in the X-Write-Key header (the CLI reads WRITE_KEY).',
      { header: 'X-Write-Key' },
    );
  if (!sameSecret(given, writeKey))
    return new AppError('WRITE_KEY_INVALID', 'The write key in X-Write-Key is not this deployment’s.', {
      header: 'X-Write-Key',
    });
  return undefined;
}

export function mediaTypeError(headers: Record<string, string>, hasBody = true): AppError | undefined {
  const type = headers['content-type'];
  if (isJsonContentType(type)) return undefined;
  if (!hasBody && (type === undefined || type === '')) return undefined;
  return new AppError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Writes take JSON only: send Content-Type: application/json (got ${type ? JSON.stringify(type) : 'none'}).`,
    { contentType: type ?? null },
  );
}

/**
 * The refusal of a request before any route runs, or undefined. Reads pass; a write must come from this
 * site (or a listed origin), carry the write key when one is configured, and be JSON, checked in that
 * order (a foreign page learns nothing about the key or the body format).
 */
export function guardRequest(
  method: string,
  headers: Record<string, string>,
  options: WriteGuardOptions,
): AppError | undefined {
  if (!WRITE_METHODS.has(method.toUpperCase())) return undefined;
  return (
    crossOriginError(headers, options.allowedOrigins) ??
    (options.writeKey ? writeKeyError(headers, options.writeKey) : undefined) ??
    mediaTypeError(headers, options.hasBody ?? true)
  );
}

// ---------- Host (local host) ----------

const LOOPBACK_HOSTNAMES = ['127.0.0.1', 'localhost', '[::1]'];

function hostnameOf(value: string): string | undefined {
  try {
    return new URL(`http://${value.trim()}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The host names (no port) the local host serves: loopback, HOST, and ALLOWED_HOSTS. */
export function allowedHostnames(host: string, extra: readonly string[]): ReadonlySet<string> {
  const out = new Set<string>();
  for (const h of [...LOOPBACK_HOSTNAMES, host, ...extra]) {
    const bracketed = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
    const name = hostnameOf(bracketed);
    if (name) out.add(name);
  }
  return out;
}

/**
 * The 421 for a request addressed to a name this host does not serve (DNS rebinding), checked on Host
 * and on X-Forwarded-Host (the web dev server's proxy rewrites Host but forwards the page's).
 */
export function hostError(
  headers: Record<string, string>,
  allowed: ReadonlySet<string>,
): AppError | undefined {
  const forwarded = headers['x-forwarded-host']?.split(',')[0]?.trim();
  for (const [name, value] of [
    ['Host', headers.host],
    ['X-Forwarded-Host', forwarded],
  ] as const) {
    if (name === 'X-Forwarded-Host' && value === undefined) continue;
    const hostname = value ? hostnameOf(value) : undefined;
    if (!hostname || !allowed.has(hostname))
      return new AppError(
        'HOST_NOT_ALLOWED',
        `This server does not serve ${name} ${JSON.stringify(value ?? '')}: only ${[...allowed].join(', ')}. ` +
          'Reach it by one of those names, or add the name to ALLOWED_HOSTS.',
        { header: name, host: value ?? null },
      );
  }
  return undefined;
}

// ---------- security headers ----------

/**
 * The web app's Content-Security-Policy: everything from its own origin, no inline script, no framing.
 * `connect-src` adds the API's origin when it is another one (it is not, in both hosts: same origin).
 * Inline style attributes are allowed: the chart library positions its canvases with them.
 */
export function webContentSecurityPolicy(apiOrigin?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${apiOrigin ? ` ${apiOrigin}` : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const REFERRER_POLICY = 'no-referrer';

/** Headers every page and asset of the web app carries (CloudFront adds HSTS on AWS). */
export function webSecurityHeaders(apiOrigin?: string): Record<string, string> {
  return {
    'content-security-policy': webContentSecurityPolicy(apiOrigin),
    'x-content-type-options': 'nosniff',
    'referrer-policy': REFERRER_POLICY,
    'x-frame-options': 'DENY',
  };
}

/** An API answer is data, never a document: nothing may run or be framed from it. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': API_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': REFERRER_POLICY,
  'x-frame-options': 'DENY',
};
