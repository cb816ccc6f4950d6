// Bearer tokens and scopes (contract §1). Secrets are compared as SHA-256 digests so lookup
// time does not depend on how much of a guessed secret is right.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken, Scope } from '../config.js';
import type { StaffUser } from '../core/staff-user.js';
import { problem, sendProblem } from './problem.js';
import { authenticateSession, type SessionAuth } from './session-auth.js';

const digest = (s: string) => createHash('sha256').update(s).digest('hex');

export class TokenRegistry {
  private readonly byDigest = new Map<string, ApiToken>();
  constructor(tokens: readonly ApiToken[]) {
    for (const t of tokens) this.byDigest.set(digest(t.secret), t);
  }
  lookup(secret: string): ApiToken | undefined {
    return this.byDigest.get(digest(secret));
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    token?: ApiToken;
    /** The signed-in staff user when the request came with a session cookie (contract §11). */
    user?: StaffUser;
  }
  interface FastifyContextConfig {
    /** Scope a /v1 route needs; absent means any valid token will do. */
    scope?: Scope;
    /** 'location': a signed-in user may call it without the scope; the handler checks the location. */
    staffAccess?: 'location';
    /** No credentials needed (signing in). */
    public?: boolean;
  }
}

/**
 * Every /v1 path needs a token, even one that turns out not to exist. Decided on the route the
 * router matched, not on the raw URL: the router decodes the path first, so `/%761/events` is
 * `/v1/events` to it and must be to this check too. With no route matched, on the decoded path.
 */
function needsToken(req: FastifyRequest): boolean {
  const matched = req.routeOptions.url;
  let path = matched;
  if (path === undefined) {
    const raw = req.url.split('?')[0] ?? '';
    try {
      path = decodeURIComponent(raw);
    } catch {
      path = raw;
    }
  }
  return /^\/+v1(\/|$)/i.test(path);
}

export function authHook(registry: TokenRegistry, sessions?: SessionAuth) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!needsToken(req)) return;
    const config = req.routeOptions.config;
    if (config.public) return;
    const header = req.headers.authorization ?? '';
    // No Authorization header but a session cookie: the request acts as that user. A bearer
    // token, when present, always decides alone (tokens are unaffected by cookies).
    if (!header && sessions?.hasCookie(req)) return authenticateSession(sessions, req, reply);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = m?.[1] ? registry.lookup(m[1]) : undefined;
    if (!token) {
      reply.header('www-authenticate', 'Bearer');
      return sendProblem(reply, problem(401, m ? 'unknown bearer token' : 'missing Authorization: Bearer <token>'));
    }
    if (config.scope && !token.scopes.includes(config.scope)) {
      return sendProblem(reply, problem(403, `token "${token.name}" lacks scope ${config.scope}`));
    }
    req.token = token;
  };
}
