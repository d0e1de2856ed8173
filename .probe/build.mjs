import * as esbuild from 'esbuild';
const r = await esbuild.build({ absWorkingDir: process.cwd(), entryPoints: ['.probe/entry.ts'], bundle: true, outfile: '/tmp/i13-probe/out/index.mjs', platform: 'node', format: 'esm', target: 'node22', mainFields: ['module','main'], banner: { js: "import { createRequire as __appCreateRequire } from 'node:module'; const require = __appCreateRequire(import.meta.url);" }, minify: true, external: ['@aws-sdk/*','pg-native'], metafile: true, logLevel: 'warning' });
const ext = Object.values(r.metafile.outputs).flatMap(o => o.imports).filter(i => i.external).map(i => i.kind + ' ' + i.path);
console.log([...new Set(ext)].join('\n'));
