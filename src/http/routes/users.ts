// Staff users and sessions (contract §11): PUT/GET /v1/users, POST/GET/DELETE /v1/session.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LOCATION_ID_PATTERN } from '../../core/ids.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLES, USER_ID_PATTERN } from '../../core/staff-user.js';
import { UserInputError, type UserStore } from '../../staff/user-store.js';
import type { RouteRegistrar } from '../app.js';
import { HttpProblem, problem } from '../problem.js';
import { clearSessionCookie, CSRF_HEADER, sessionCookie, setSessionCookie } from '../session-auth.js';

export const userSchema = z.object({
  id: z.string(), name: z.string(), role: z.enum(ROLES), locationIds: z.array(z.string()),
  createdAt: z.string(), updatedAt: z.string(),
});
const sessionSchema = z.object({
  user: userSchema,
  csrfToken: z.string().describe(`send it as the ${CSRF_HEADER} header on every write made with the session cookie`),
});

const userBody = z.object({
  name: z.string().trim().min(1, 'name must not be empty').max(200),
  role: z.enum(ROLES),
  locationIds: z.array(z.string().regex(LOCATION_ID_PATTERN, 'location id must match ^[A-Za-z0-9._-]{1,64}$')).min(1, 'at least one location').max(1000),
  password: z.string().min(MIN_PASSWORD_LENGTH, `password must have at least ${MIN_PASSWORD_LENGTH} characters`).max(MAX_PASSWORD_LENGTH)
    .optional().describe('required when creating; left out on an update, the password stays'),
});

export function userRoutes(users: UserStore): RouteRegistrar {
  return (fastify: FastifyInstance) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.put('/v1/users/:id', {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create or update a staff user (a new password signs the user out everywhere)', tags: ['users'],
        params: z.object({ id: z.string().regex(USER_ID_PATTERN, 'id must match ^[A-Za-z0-9._@-]{1,64}$') }),
        body: userBody, response: { 200: userSchema, 201: userSchema },
      },
    }, async (req, reply) => {
      try {
        const { user, created } = await users.upsert(req.params.id, req.body);
        return reply.code(created ? 201 : 200).send(user);
      } catch (err) {
        if (err instanceof UserInputError) throw new HttpProblem(problem(400, err.message, { errors: [{ field: err.field, message: err.message }] }));
        throw err;
      }
    });

    app.get('/v1/users', {
      config: { scope: 'admin' },
      schema: { summary: 'List staff users', tags: ['users'], response: { 200: z.object({ users: z.array(userSchema) }) } },
    }, async () => ({ users: await users.list() }));

    app.post('/v1/session', {
      config: { public: true },
      schema: {
        summary: 'Sign in: sets an HttpOnly, SameSite=Strict session cookie', tags: ['users'],
        description: 'A wrong user or password answers 401, the same for both. After five wrong passwords in a row, attempts are refused with 429 and Retry-After for a delay that doubles with each further failure (1 s, 2 s, 4 s … up to 5 min).',
        security: [],
        body: z.object({ userId: z.string().min(1).max(64), password: z.string().min(1).max(MAX_PASSWORD_LENGTH) }),
        response: { 200: sessionSchema },
      },
    }, async (req, reply) => {
      const r = await users.signIn(req.body.userId, req.body.password);
      if (r.kind === 'throttled') {
        reply.header('retry-after', String(Math.ceil(r.retryAfterMs / 1000)));
        throw new HttpProblem(problem(429, `too many wrong passwords: try again in ${Math.ceil(r.retryAfterMs / 1000)} s`));
      }
      if (r.kind === 'refused') throw new HttpProblem(problem(401, 'wrong user or password'));
      setSessionCookie(req, reply, r.sessionId);
      return r.session;
    });

    app.get('/v1/session', {
      schema: { summary: 'The signed-in user and the CSRF token of the session', tags: ['users'], response: { 200: sessionSchema } },
    }, async (req) => {
      const id = sessionCookie(req);
      const s = id && req.user ? await users.session(id) : null;
      if (!s) throw new HttpProblem(problem(401, 'not signed in (this needs the session cookie, not a token)'));
      return s;
    });

    app.delete('/v1/session', {
      schema: { summary: 'Sign out', tags: ['users'], response: { 204: z.null().describe('signed out') } },
    }, async (req, reply) => {
      const id = sessionCookie(req);
      if (id) await users.signOut(id);
      clearSessionCookie(reply);
      return reply.code(204).send(null);
    });
  };
}
