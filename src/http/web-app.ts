// Serves the staff web app at /app. The bundle is built with esbuild when the service starts
// (about a quarter of a second), so `npm install && npm start` is all it takes: no build step by
// hand and no second tool chain. Assets are content-hashed and precompressed (brotli, gzip).
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteRegistrar } from './app.js';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

interface Asset {
  body: Buffer;
  br: Buffer;
  gzip: Buffer;
  type: string;
  immutable: boolean;
}

export interface WebBundle {
  assets: Map<string, Asset>;
  /** Bytes of each asset as built, and compressed (for the first-load benchmark's cross-check). */
  sizes: Array<{ path: string; raw: number; br: number; gzip: number }>;
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function asset(body: Buffer, type: string, immutable: boolean): Asset {
  return {
    body, type, immutable,
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    gzip: gzipSync(body, { level: 9 }),
  };
}

let built: Promise<WebBundle> | null = null;

/** Builds the app once per process. */
export function buildWebBundle(): Promise<WebBundle> {
  built ??= (async () => {
    const esbuild = await import('esbuild');
    const out = await esbuild.build({
      entryPoints: { app: path.join(WEB_DIR, 'src/main.ts') },
      bundle: true, minify: true, format: 'esm', target: ['es2020', 'chrome100', 'safari15', 'firefox100'],
      write: false, outdir: '/app-out', legalComments: 'none', logLevel: 'silent',
    });
    const assets = new Map<string, Asset>();
    const names: Record<string, string> = {};
    for (const f of out.outputFiles) {
      const ext = path.extname(f.path);
      const hash = createHash('sha256').update(f.contents).digest('hex').slice(0, 12);
      const name = `/app/assets/app-${hash}${ext}`;
      names[ext] = name;
      assets.set(name, asset(Buffer.from(f.contents), ext === '.css' ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', true));
    }
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>omnistock · store</title>
${names['.css'] ? `<link rel="stylesheet" href="${names['.css']}">` : ''}
<script type="module" src="${names['.js']}"></script>
</head>
<body>
<div id="root"><p class="boot" role="status">Loading omnistock…</p></div>
<noscript>The omnistock store app needs JavaScript.</noscript>
</body>
</html>
`;
    assets.set('/app', asset(Buffer.from(html), 'text/html; charset=utf-8', false));
    const sizes = [...assets].map(([p, a]) => ({ path: p, raw: a.body.length, br: a.br.length, gzip: a.gzip.length }));
    return { assets, sizes };
  })();
  built.catch(() => { built = null; });
  return built;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset) {
  const accept = String(req.headers['accept-encoding'] ?? '');
  reply.header('content-type', a.type).header('vary', 'accept-encoding').header('x-content-type-options', 'nosniff');
  reply.header('cache-control', a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (a.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
  if (/\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(a.br);
  if (/\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

export function webAppRoutes(): RouteRegistrar {
  return async (app: FastifyInstance) => {
    let bundle: WebBundle;
    try {
      bundle = await buildWebBundle();
    } catch (err) {
      // The API must not go down with the app: /app says what is wrong instead.
      app.log.error({ err }, 'the staff web app could not be built; /app answers 503');
      const down = async (_req: FastifyRequest, reply: FastifyReply) =>
        reply.code(503).type('text/plain; charset=utf-8').send(`The staff app could not be built: ${(err as Error).message.split('\n')[0]}`);
      app.get('/app', { schema: { hide: true } }, down);
      app.get('/app/*', { schema: { hide: true } }, down);
      return;
    }
    const index = bundle.assets.get('/app')!;
    const opts = { schema: { hide: true } };
    app.get('/', opts, async (_req, reply) => reply.redirect('/app'));
    app.get('/app', opts, async (req, reply) => send(req, reply, index));
    app.get('/app/', opts, async (req, reply) => send(req, reply, index));
    app.get('/app/assets/:file', opts, async (req, reply) => {
      const a = bundle.assets.get(req.url.split('?')[0] ?? '');
      if (!a) return reply.code(404).type('text/plain').send('not found');
      return send(req, reply, a);
    });
  };
}
