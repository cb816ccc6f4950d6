// The production layout on this machine (docker-compose.yml's roles): one API process and two
// reconciler processes in one consumer group, each `omnistock serve --role …` as its own child
// process, against the soak's PostgreSQL and the Kafka wire-protocol broker.
import fs from 'node:fs';
import { spawnService, type ServiceProcess } from '../test/support/service-process.js';
import { freePort } from './postgres-instance.js';

export const SOAK_TOKEN = 'soak-secret';
const TOKENS = `soak:${SOAK_TOKEN}:events:write+stock:read+stock:write+reservations+routing+admin`;

export interface Member {
  name: string;
  role: 'api' | 'reconciler';
  port: number;
  proc: ServiceProcess;
  /** Incarnation number: 0 at start, +1 per restart. */
  incarnation: number;
  startedAt: number;
}

export interface Cluster {
  apiUrl(): string;
  members: Member[];
  restart(name: string): Promise<void>;
  signal(name: string, sig: NodeJS.Signals): void;
  /** Resident memory of every live member, in bytes. */
  rss(): Array<{ name: string; incarnation: number; bytes: number }>;
  stop(): Promise<void>;
}

export async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3_000) }).catch(() => null);
    if (r?.status === 200) return;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

export async function startCluster(opts: { databaseUrl: string; brokers: string[]; extraEnv?: Record<string, string> }): Promise<Cluster> {
  const env = {
    DATABASE_URL: opts.databaseUrl, KAFKA_BROKERS: opts.brokers.join(','), API_TOKENS: TOKENS, LOG_LEVEL: 'warn',
    ...opts.extraEnv,
  };
  // Migrate once up front, as docker-compose's `migrate` step does.
  const migrate = spawnService(['migrate'], env);
  const code = await new Promise<number | null>((resolve) => {
    if (migrate.child.exitCode !== null) return resolve(migrate.child.exitCode);
    migrate.child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`migrate failed:\n${migrate.output()}`);

  const members: Member[] = [];
  const spawn = (m: Omit<Member, 'proc' | 'startedAt'>): Member => {
    const proc = spawnService(['serve', '--role', m.role], { ...env, PORT: String(m.port) });
    return { ...m, proc, startedAt: Date.now() };
  };
  for (const [name, role] of [['api', 'api'], ['reconciler-a', 'reconciler'], ['reconciler-b', 'reconciler']] as const) {
    members.push(spawn({ name, role, port: await freePort(), incarnation: 0 }));
  }
  await Promise.all(members.map((m) => waitReady(`http://127.0.0.1:${m.port}`, 120_000)));
  const find = (name: string) => {
    const m = members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  };
  return {
    apiUrl: () => `http://127.0.0.1:${find('api').port}`,
    members,
    async restart(name) {
      const m = find(name);
      await m.proc.kill('SIGKILL');
      const next = spawn({ name: m.name, role: m.role, port: m.port, incarnation: m.incarnation + 1 });
      members[members.indexOf(m)] = next;
    },
    signal(name, sig) {
      find(name).proc.child.kill(sig);
    },
    rss() {
      return members.flatMap((m) => {
        const pid = m.proc.child.pid;
        if (!pid || m.proc.child.exitCode !== null) return [];
        try {
          const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
          return kb ? [{ name: m.name, incarnation: m.incarnation, bytes: Number(kb) * 1024 }] : [];
        } catch {
          return [];
        }
      });
    },
    async stop() {
      for (const m of members) m.proc.child.kill('SIGCONT');
      await Promise.all(members.map((m) => m.proc.kill('SIGTERM')));
    },
  };
}
