// Cookie sessions for staff users (contract §11).
//
// CSRF protection for writes made with the cookie (documented in docs/API.md):
//  1. the cookie is SameSite=Strict, so browsers do not send it on requests other sites start;
//  2. every request with the cookie whose method is not GET/HEAD/OPTIONS must carry the
//     session's token in an `X-CSRF-Token` header (a synchronizer token, handed out by
//     POST/GET /v1/session). Another site can neither read the token nor set the header without
//     a CORS preflight, which this service never grants.
// Bearer-token requests need neither: they carry no ambient credential.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MANAGER_EVENT_TYPES, mayActAt, scopesOf } from '../core/staff-user.js';
import { SESSION_TTL_MS, type UserStore } from '../staff/user-store.js';
import { problem, sendProblem } from './problem.js';

export const SESSION_COOKIE = 'omnistock_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class SessionAuth {
  constructor(readonly users: UserStore) {}

  hasCookie(req: FastifyRequest): boolean {
    return sessionCookie(req) !== null;
  }
}

/** The session cookie's value, parsed by hand: one cookie, plain base64url. */
export function sessionCookie(req: FastifyRequest): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{20,128}$/.test(v) ? v : null;
    }
  }
  return null;
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, sessionId: string): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}${secure}`);
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function authenticateSession(sessions: SessionAuth, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const id = sessionCookie(req)!;
  const session = await sessions.users.session(id);
  if (!session) {
    clearSessionCookie(reply);
    return sendProblem(reply, problem(401, 'session expired or unknown: sign in again'));
  }
  if (!SAFE_METHODS.has(req.method)) {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameToken(sent, session.csrfToken)) {
      return sendProblem(reply, problem(403, `a write made with the session cookie needs the session's ${CSRF_HEADER} header (from POST or GET /v1/session)`));
    }
  }
  const config = req.routeOptions.config;
  const scopes = scopesOf(session.user.role);
  if (config.scope && !scopes.includes(config.scope) && config.staffAccess !== 'location') {
    return sendProblem(reply, problem(403, `user "${session.user.id}" (${session.user.role}) may not do this`));
  }
  req.user = session.user;
  req.token = { name: `staff:${session.user.id}`, secret: '', scopes };
  return undefined;
}

/**
 * POST /v1/events with a session: a manager posts receive, adjust, damage and count for their own
 * locations only, and every event carries the user as `source` whatever the body said. Checked
 * after the body is parsed; one event out of bounds refuses the whole request (403), so nothing
 * of a form that reached too far is half applied.
 */
export async function staffEventsGuard(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const user = req.user;
  if (!user || req.routeOptions.url !== '/v1/events' || req.method !== 'POST') return undefined;
  const body = req.body as { events?: unknown } | undefined;
  if (!body || !Array.isArray(body.events)) return undefined;
  for (const [i, e] of body.events.entries()) {
    if (typeof e !== 'object' || e === null) continue; // the route rejects it as invalid
    const ev = e as Record<string, unknown>;
    if (user.role !== 'admin') {
      if (typeof ev.locationId === 'string' && !mayActAt(user, ev.locationId)) {
        return sendProblem(reply, problem(403, `events.${i}.locationId: user "${user.id}" may not change stock at "${ev.locationId}"`));
      }
      if (typeof ev.type === 'string' && !MANAGER_EVENT_TYPES.has(ev.type)) {
        return sendProblem(reply, problem(403, `events.${i}.type: staff users post only ${[...MANAGER_EVENT_TYPES].join(', ')}`));
      }
    }
    ev.source = `staff:${user.id}`;
  }
  return undefined;
}

/** Throws a 403 problem unless the request's user (if any) may act at `locationId`. */
export function userLocationProblem(req: FastifyRequest, locationId: string) {
  const user = req.user;
  if (!user || mayActAt(user, locationId)) return null;
  return problem(403, `user "${user.id}" does not work at "${locationId}"`);
}
