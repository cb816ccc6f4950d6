// Staff users and their sessions in PostgreSQL (contract §11).
import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '../db/database.js';
import { signInDelayMs, type Role, type StaffUser } from '../core/staff-user.js';
import { decoyHash, hashPassword, verifyPassword } from './password.js';

export const SESSION_TTL_MS = 12 * 3600_000;

export interface UserInput {
  name: string;
  role: Role;
  locationIds: string[];
  password?: string | undefined;
}

export class UserInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export interface SessionInfo {
  user: StaffUser;
  csrfToken: string;
}

export type SignInResult =
  | { kind: 'ok'; sessionId: string; session: SessionInfo }
  | { kind: 'refused' }
  | { kind: 'throttled'; retryAfterMs: number };

const USER_COLUMNS = `id, name, role, location_ids, created_at, updated_at`;
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

function toUser(r: Record<string, unknown>): StaffUser {
  const locs = r.location_ids;
  return {
    id: r.id as string, name: r.name as string, role: r.role as Role,
    locationIds: Array.isArray(locs) ? (locs as string[]) : parsePgArray(String(locs)),
    createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  };
}

/** PGlite may hand text[] back as its literal; ids are plain (no quotes or commas). */
function parsePgArray(s: string): string[] {
  const inner = s.replace(/^\{|\}$/g, '');
  return inner === '' ? [] : inner.split(',').map((x) => x.replace(/^"|"$/g, ''));
}

/** Unknown user ids are throttled like known ones (in memory), so a 429 does not reveal who exists. */
const MAX_TRACKED_UNKNOWN = 10_000;

export class UserStore {
  private readonly unknownFailures = new Map<string, { failures: number; nextAt: number }>();
  constructor(private readonly db: Sql, private readonly now: () => number = Date.now) {}

  async upsert(id: string, input: UserInput): Promise<{ user: StaffUser; created: boolean }> {
    const known = await this.db.query<{ id: string }>('SELECT id FROM locations WHERE id = ANY($1::text[])', [input.locationIds]);
    const knownIds = new Set(known.map((k) => k.id));
    input.locationIds.forEach((l, i) => {
      if (!knownIds.has(l)) throw new UserInputError(`body.locationIds.${i}`, `unknown location "${l}"`);
    });
    const hash = input.password === undefined ? null : await hashPassword(input.password);
    const existing = await this.db.query<{ id: string }>('SELECT id FROM staff_users WHERE id = $1', [id]);
    if (existing.length === 0 && hash === null) throw new UserInputError('body.password', 'required when creating a user');
    const nowIso = new Date(this.now()).toISOString();
    const rows = await this.db.query<Record<string, unknown> & { inserted: boolean }>(
      `INSERT INTO staff_users (id, name, role, location_ids, password_hash, created_at, updated_at)
       VALUES ($1, $2, $3, $4::text[], coalesce($5, ''), $6, $6)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role, location_ids = EXCLUDED.location_ids,
              password_hash = coalesce($5, staff_users.password_hash), updated_at = EXCLUDED.updated_at,
              failed_attempts = CASE WHEN $5 IS NULL THEN staff_users.failed_attempts ELSE 0 END,
              next_attempt_at = CASE WHEN $5 IS NULL THEN staff_users.next_attempt_at ELSE NULL END
       RETURNING ${USER_COLUMNS}, (xmax = 0) AS inserted`,
      [id, input.name, input.role, [...new Set(input.locationIds)], hash, nowIso],
    );
    // A new password signs every existing session out.
    if (hash !== null && existing.length > 0) await this.db.query('DELETE FROM staff_sessions WHERE user_id = $1', [id]);
    const row = rows[0]!;
    return { user: toUser(row), created: existing.length === 0 };
  }

  async list(): Promise<StaffUser[]> {
    return (await this.db.query<Record<string, unknown>>(`SELECT ${USER_COLUMNS} FROM staff_users ORDER BY id`)).map(toUser);
  }

  async get(id: string): Promise<StaffUser | null> {
    const r = (await this.db.query<Record<string, unknown>>(`SELECT ${USER_COLUMNS} FROM staff_users WHERE id = $1`, [id]))[0];
    return r ? toUser(r) : null;
  }

  /**
   * Checks a password and opens a session. A wrong user and a wrong password look the same
   * (same answer, a scrypt either way). After FREE_ATTEMPTS wrong passwords in a row, attempts
   * before the doubling delay is over are refused unheard, the right password included.
   */
  async signIn(userId: string, password: string): Promise<SignInResult> {
    const now = this.now();
    const rows = await this.db.query<{ password_hash: string; failed_attempts: number; next_ms: number | null }>(
      `SELECT password_hash, failed_attempts, (extract(epoch from next_attempt_at) * 1000)::float8 AS next_ms FROM staff_users WHERE id = $1`,
      [userId],
    );
    const row = rows[0];
    if (!row) {
      const t = this.unknownFailures.get(userId);
      if (t && t.nextAt > now) return { kind: 'throttled', retryAfterMs: t.nextAt - now };
      await verifyPassword(password, await decoyHash());
      const failures = (t?.failures ?? 0) + 1;
      if (this.unknownFailures.size >= MAX_TRACKED_UNKNOWN) this.unknownFailures.clear();
      this.unknownFailures.set(userId, { failures, nextAt: this.now() + signInDelayMs(failures) });
      return { kind: 'refused' };
    }
    if (row.next_ms !== null && row.next_ms > now) return { kind: 'throttled', retryAfterMs: Math.ceil(row.next_ms - now) };
    if (!(await verifyPassword(password, row.password_hash))) {
      // Counted in the database (an atomic increment), so it holds across processes and restarts.
      const counted = await this.db.query<{ failed_attempts: number }>(
        'UPDATE staff_users SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts', [userId],
      );
      const delay = signInDelayMs(counted[0]?.failed_attempts ?? 0);
      // From when the refusal is answered, not when the attempt began: a slow hash must not eat the delay.
      if (delay > 0) await this.db.query('UPDATE staff_users SET next_attempt_at = $2 WHERE id = $1', [userId, new Date(this.now() + delay).toISOString()]);
      return { kind: 'refused' };
    }
    await this.db.query('UPDATE staff_users SET failed_attempts = 0, next_attempt_at = NULL WHERE id = $1', [userId]);
    const sessionId = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    await this.db.query(
      'INSERT INTO staff_sessions (id_digest, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [digest(sessionId), userId, csrfToken, new Date(now).toISOString(), new Date(now + SESSION_TTL_MS).toISOString()],
    );
    // Expired sessions are swept here rather than by a job: sign-ins are rare and cheap.
    await this.db.query('DELETE FROM staff_sessions WHERE expires_at < $1', [new Date(now).toISOString()]);
    const user = (await this.get(userId))!;
    return { kind: 'ok', sessionId, session: { user, csrfToken } };
  }

  /** The session's user and CSRF token, or null when unknown or expired. */
  async session(sessionId: string): Promise<SessionInfo | null> {
    const rows = await this.db.query<Record<string, unknown> & { csrf_token: string }>(
      `SELECT u.id, u.name, u.role, u.location_ids, u.created_at, u.updated_at, s.csrf_token
         FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id
        WHERE s.id_digest = $1 AND s.expires_at > $2`,
      [digest(sessionId), new Date(this.now()).toISOString()],
    );
    const r = rows[0];
    return r ? { user: toUser(r), csrfToken: r.csrf_token } : null;
  }

  async signOut(sessionId: string): Promise<void> {
    await this.db.query('DELETE FROM staff_sessions WHERE id_digest = $1', [digest(sessionId)]);
  }
}
