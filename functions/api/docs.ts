/**
 * `/openapi.json` and `/docs`. The page is self-contained (no CDN: machines here have no internet and
 * a docs page should not phone home anyway): a small renderer that fetches the OpenAPI document
 * relative to itself, so it works behind an API Gateway stage prefix as well as on the local host.
 */
import { createHash } from 'node:crypto';
import { buildOpenApiDocument } from '../../shared/api/openapi';
import { createRouteGroup, type HttpOptions, json } from './http';

export function createDocsHandler(options: HttpOptions = {}) {
  // The document depends only on the schemas: build it once per process.
  let document: Record<string, unknown> | undefined;
  return createRouteGroup(
    'docs',
    [
      {
        method: 'GET',
        path: '/openapi.json',
        handler: async () => {
          document ??= buildOpenApiDocument();
          return json(200, document);
        },
      },
      {
        method: 'GET',
        path: '/docs',
        handler: async () => ({
          status: 200,
          text: DOCS_HTML,
          contentType: 'text/html; charset=utf-8',
          headers: { 'content-security-policy': docsContentSecurityPolicy() },
        }),
      },
    ],
    options,
  );
}

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API docs</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 16px 24px; }
  header h1 { margin: 0; font-size: 20px; }
  header p { margin: 4px 0 0; opacity: .8; }
  main { max-width: 1000px; margin: 0 auto; padding: 16px 24px 48px; }
  details.op { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; margin: 10px 0; }
  details.op > summary { cursor: pointer; padding: 10px 12px; display: flex; gap: 12px; align-items: center; }
  .m { font-weight: 700; font-family: ui-monospace, monospace; padding: 2px 8px; border-radius: 4px; color: #fff; min-width: 44px; text-align: center; }
  .GET { background: #2f7d4f; } .POST { background: #2d5fa8; }
  .p { font-family: ui-monospace, monospace; font-weight: 600; }
  .s { color: #5a6272; }
  .body { padding: 0 14px 12px; }
  h4 { margin: 12px 0 4px; }
  table { border-collapse: collapse; width: 100%; }
  td, th { border-bottom: 1px solid #eceef2; padding: 4px 6px; text-align: left; vertical-align: top; }
  pre { background: #f1f3f6; padding: 8px; border-radius: 4px; overflow: auto; max-height: 360px; font-size: 12px; }
  .tag { text-transform: uppercase; letter-spacing: .06em; color: #5a6272; margin-top: 24px; font-size: 12px; }
</style>
</head>
<body>
<header><h1 id="title">API</h1><p id="desc"></p></header>
<main id="root"><p>Loading <a href="openapi.json">openapi.json</a>…</p></main>
<script>
(function () {
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function resolve(doc, schema) {
    if (schema && schema.$ref) {
      var parts = schema.$ref.replace(/^#\\//, '').split('/');
      var cur = doc; parts.forEach(function (p) { cur = cur && cur[p]; });
      return cur || schema;
    }
    return schema;
  }
  function typeOf(s) {
    if (!s) return '';
    if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(' | ');
    if (s.anyOf) return s.anyOf.map(typeOf).join(' | ');
    var t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type || 'any');
    if (t === 'array' && s.items) t = typeOf(s.items) + '[]';
    var extra = [];
    if (s.minimum !== undefined) extra.push('min ' + s.minimum);
    if (s.maximum !== undefined) extra.push('max ' + s.maximum);
    if (s.pattern) extra.push('pattern ' + s.pattern);
    if (s.default !== undefined) extra.push('default ' + JSON.stringify(s.default));
    return t + (extra.length ? ' (' + extra.join(', ') + ')' : '');
  }
  function propsTable(doc, schema) {
    schema = resolve(doc, schema);
    if (!schema || !schema.properties) return el('pre', {}, [JSON.stringify(schema, null, 2)]);
    var req = schema.required || [];
    var rows = Object.keys(schema.properties).map(function (name) {
      var p = schema.properties[name];
      return el('tr', {}, [el('td', { class: 'p' }, [name + (req.indexOf(name) >= 0 ? ' *' : '')]), el('td', {}, [typeOf(p)])]);
    });
    return el('table', {}, [el('tr', {}, [el('th', {}, ['field']), el('th', {}, ['type'])])].concat(rows));
  }
  fetch('openapi.json').then(function (r) { return r.json(); }).then(function (doc) {
    document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
    document.getElementById('desc').textContent = doc.info.description || '';
    var root = document.getElementById('root'); root.textContent = '';
    var lastTag = null;
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags || [''])[0];
        if (tag !== lastTag) { root.appendChild(el('div', { class: 'tag' }, [tag])); lastTag = tag; }
        var body = el('div', { class: 'body' }, []);
        if (op.parameters && op.parameters.length) {
          body.appendChild(el('h4', {}, ['Parameters']));
          body.appendChild(el('table', {}, [el('tr', {}, [el('th', {}, ['name']), el('th', {}, ['in']), el('th', {}, ['type'])])].concat(
            op.parameters.map(function (p) {
              return el('tr', {}, [el('td', { class: 'p' }, [p.name + (p.required ? ' *' : '')]), el('td', {}, [p.in]), el('td', {}, [typeOf(p.schema)])]);
            }))));
        }
        if (op.requestBody) {
          body.appendChild(el('h4', {}, ['Request body (application/json)']));
          body.appendChild(propsTable(doc, op.requestBody.content['application/json'].schema));
        }
        body.appendChild(el('h4', {}, ['Responses']));
        Object.keys(op.responses).forEach(function (status) {
          var r = op.responses[status];
          var d = el('details', {}, [el('summary', {}, [status + ' ' + r.description])]);
          var c = r.content && (r.content['application/json'] || r.content['text/html']);
          if (c && c.schema) d.appendChild(el('pre', {}, [JSON.stringify(resolve(doc, c.schema), null, 2)]));
          body.appendChild(d);
        });
        root.appendChild(el('details', { class: 'op' }, [
          el('summary', {}, [el('span', { class: 'm ' + method.toUpperCase() }, [method.toUpperCase()]), el('span', { class: 'p' }, [path]), el('span', { class: 's' }, [op.summary || ''])]),
          body,
        ]));
      });
    });
  }).catch(function (e) {
    document.getElementById('root').textContent = 'Could not load openapi.json: ' + e;
  });
})();
</script>
</body>
</html>
`;

function inlineHash(tag: 'script' | 'style'): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(DOCS_HTML);
  if (!m) throw new Error(`the docs page has no inline ${tag}`);
  return `'sha256-${createHash('sha256')
    .update(m[1] ?? '', 'utf8')
    .digest('base64')}'`;
}

let docsCsp: string | undefined;
/**
 * The docs page's CSP: its one inline script and style run by hash (no 'unsafe-inline'), it may fetch
 * only openapi.json from its own origin, and it cannot be framed.
 */
export function docsContentSecurityPolicy(): string {
  docsCsp ??= [
    "default-src 'none'",
    `script-src ${inlineHash('script')}`,
    `style-src ${inlineHash('style')}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return docsCsp;
}
