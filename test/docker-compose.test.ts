// docker-compose.yml is the production layout; no Docker engine runs in CI, so this checks the
// file against the code instead: env names the config reads, values it accepts, and that the
// services point at each other (database URL, Kafka listener, topics, ports, roles).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { CONFIG_ENV_KEYS, loadConfig } from '../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Values for variables the file requires (`${VAR:?msg}`); everything else takes its default. */
const REQUIRED_VARS: Record<string, string> = { API_TOKENS: 'ops:compose-test-secret:admin+stock:read' };

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: unknown;
  hostname?: string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number | { target: number; published?: string | number }>;
  expose?: Array<string | number>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown };
  deploy?: { replicas?: number };
}

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $$. */
function interpolate(value: string, vars: Env): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name?: string, op?: string, arg?: string, bare?: string) => {
    if (m === '$$') return '$';
    const key = (name ?? bare)!;
    const v = vars[key];
    const unsetOrEmpty = v === undefined || (op?.startsWith(':') && v === '');
    if (!unsetOrEmpty) return v;
    if (op === ':-' || op === '-') return arg ?? '';
    if (op === ':?' || op === '?') throw new Error(`compose requires ${key}: ${arg}`);
    return '';
  });
}

function serviceEnv(svc: Service): Env {
  const raw = svc.environment ?? {};
  const entries: Array<[string, string]> = Array.isArray(raw)
    ? raw.map((kv) => {
        const i = kv.indexOf('=');
        return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, REQUIRED_VARS)]));
}

function tokens(cmd: string | string[] | undefined): string[] {
  if (cmd === undefined) return [];
  return Array.isArray(cmd) ? cmd.flatMap((c) => c.split(/\s+/)).filter(Boolean) : cmd.split(/\s+/).filter(Boolean);
}

function roleOf(svc: Service): string | undefined {
  const t = tokens(svc.command);
  const i = t.indexOf('--role');
  return i >= 0 ? t[i + 1] : t.find((x) => x.startsWith('--role='))?.slice('--role='.length);
}

/** Container ports a service listens on for other services (expose, ports' targets, or the image default). */
function containerPorts(svc: Service): number[] {
  const fromPorts = (svc.ports ?? []).map((p) => (typeof p === 'object' ? p.target : Number(String(p).split(':').pop()!.split('/')[0])));
  return [...(svc.expose ?? []).map((p) => Number(String(p).split('/')[0])), ...fromPorts];
}

function publishedPorts(svc: Service): Array<{ published: number; target: number }> {
  return (svc.ports ?? []).map((p) => {
    if (typeof p === 'object') return { published: Number(p.published ?? p.target), target: p.target };
    const parts = String(p).split('/')[0]!.split(':');
    const target = Number(parts.at(-1));
    return { published: parts.length >= 2 ? Number(parts.at(-2)) : target, target };
  });
}

const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const svc = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

describe('docker-compose.yml', () => {
  it('has the production services', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['kafka', 'postgres', 'kafka-init', 'migrate', 'api', 'reconciler']));
    expect(svc('kafka').image).toMatch(/^apache\/kafka:3\.9\./);
    expect(svc('postgres').image).toMatch(/^postgres:15/);
  });

  it('gives the service only environment variables the config reads, with values it accepts', () => {
    for (const name of ['api', 'reconciler', 'migrate']) {
      const env = serviceEnv(svc(name));
      for (const key of Object.keys(env)) expect(CONFIG_ENV_KEYS, `${name}: ${key}`).toContain(key);
      const config = loadConfig(env);
      expect(config.databaseUrl, name).toBeDefined();
      expect(config.kafkaBrokers?.length, name).toBeGreaterThan(0);
    }
    const api = loadConfig(serviceEnv(svc('api')));
    expect(api.host).toBe('0.0.0.0');
    expect(api.apiTokens?.length).toBeGreaterThan(0);
  });

  it('points DATABASE_URL at the postgres service', () => {
    const pgEnv = serviceEnv(svc('postgres'));
    const pgPorts = containerPorts(svc('postgres'));
    for (const name of ['api', 'reconciler', 'migrate']) {
      const url = new URL(loadConfig(serviceEnv(svc(name))).databaseUrl!);
      expect(url.protocol).toMatch(/^postgres(ql)?:$/);
      expect([ 'postgres', svc('postgres').hostname ]).toContain(url.hostname);
      const port = Number(url.port || 5432);
      expect(pgPorts.length === 0 ? [5432] : pgPorts).toContain(port);
      expect(decodeURIComponent(url.pathname.slice(1))).toBe(pgEnv.POSTGRES_DB ?? pgEnv.POSTGRES_USER);
      expect(decodeURIComponent(url.username)).toBe(pgEnv.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(pgEnv.POSTGRES_PASSWORD);
    }
  });

  it('points KAFKA_BROKERS at a listener the kafka service advertises', () => {
    const advertised = (serviceEnv(svc('kafka')).KAFKA_ADVERTISED_LISTENERS ?? '')
      .split(',')
      .map((l) => l.trim().replace(/^[A-Za-z_]+:\/\//, ''));
    expect(advertised.length).toBeGreaterThan(0);
    for (const name of ['api', 'reconciler']) {
      for (const broker of loadConfig(serviceEnv(svc(name))).kafkaBrokers ?? []) expect(advertised, name).toContain(broker);
    }
  });

  it('runs Kafka in KRaft mode with a well-formed cluster id', () => {
    const env = serviceEnv(svc('kafka'));
    expect(env.KAFKA_PROCESS_ROLES?.split(',').sort()).toEqual(['broker', 'controller']);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(new RegExp(`^${env.KAFKA_NODE_ID}@kafka:\\d+$`));
    if (env.CLUSTER_ID !== undefined) expect(Buffer.from(env.CLUSTER_ID, 'base64url')).toHaveLength(16);
  });

  it('publishes the api on its PORT', () => {
    const port = loadConfig(serviceEnv(svc('api'))).port;
    const published = publishedPorts(svc('api'));
    expect(published).toContainEqual({ published: port, target: port });
  });

  it('creates the topics the config names, with their partition counts', () => {
    const defaults = loadConfig({});
    const init = svc('kafka-init');
    const script = [init.entrypoint ?? [], init.command ?? []].flat().join('\n');
    // One kafka-topics.sh invocation per line (or per `;` / `&&`).
    const created = script
      .split(/\n|;|&&/)
      .filter((line) => /kafka-topics(\.sh)?\s/.test(line) && /\s--create\b/.test(line))
      .map((line) => ({ topic: /--topic[ =](\S+)/.exec(line)?.[1], partitions: Number(/--partitions[ =](\d+)/.exec(line)?.[1]) }));
    expect(created).toEqual(
      expect.arrayContaining([
        { topic: defaults.kafkaEventsTopic, partitions: 12 },
        { topic: defaults.kafkaAtpTopic, partitions: 6 },
      ]),
    );
    for (const name of ['api', 'reconciler']) {
      const c = loadConfig(serviceEnv(svc(name)));
      expect(created.map((t) => t.topic)).toEqual(expect.arrayContaining([c.kafkaEventsTopic, c.kafkaAtpTopic]));
    }
  });

  it('probes every omnistock process on /readyz at its own PORT, the reconcilers included', () => {
    for (const name of ['api', 'reconciler']) {
      const c = loadConfig(serviceEnv(svc(name)));
      expect(c.host, `${name} listens beyond its container`).toBe('0.0.0.0');
      const probe = JSON.stringify(svc(name).healthcheck?.test ?? '');
      expect(probe, name).toContain(`:${c.port}/readyz`);
    }
    // The reconcilers are not published on the host (two replicas), only on the network.
    expect((svc('reconciler').expose ?? []).map(String)).toContain(String(loadConfig(serviceEnv(svc('reconciler'))).port));
  });

  it('runs each role in its own service', () => {
    expect(roleOf(svc('api'))).toBe('api');
    expect(roleOf(svc('reconciler'))).toBe('reconciler');
    expect(tokens(svc('migrate').command)).toContain('migrate');
    expect(svc('reconciler').deploy?.replicas).toBe(2);
  });

  it('orders startup on healthchecks and one-shot jobs', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps: Record<string, { condition?: string }> = Array.isArray(s.depends_on)
        ? Object.fromEntries(s.depends_on.map((d) => [d, {}]))
        : (s.depends_on ?? {});
      for (const [dep, { condition }] of Object.entries(deps)) {
        expect(services, `${name} depends on ${dep}`).toHaveProperty([dep]);
        if (condition === 'service_healthy') expect(svc(dep).healthcheck?.test, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    const conditions = (name: string) => (svc(name).depends_on ?? {}) as Record<string, { condition?: string }>;
    for (const name of ['api', 'reconciler']) {
      expect(conditions(name).migrate?.condition).toBe('service_completed_successfully');
      expect(conditions(name)['kafka-init']?.condition).toBe('service_completed_successfully');
    }
    expect(conditions('migrate').postgres?.condition).toBe('service_healthy');
    expect(conditions('kafka-init').kafka?.condition).toBe('service_healthy');
  });

  it('builds the service from the Dockerfile on node 20', () => {
    for (const name of ['migrate', 'api', 'reconciler']) expect(svc(name).build, name).toBeDefined();
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim\b/m);
    expect(dockerfile).toMatch(/npm ci/);
  });

  it('interpolates like compose', () => {
    expect(interpolate('a${X:-d}b', {})).toBe('adb');
    expect(interpolate('${X:-d}', { X: 'v' })).toBe('v');
    expect(interpolate('${X-d}', { X: '' })).toBe('');
    expect(interpolate('$$X ${Y}', { Y: 'y' })).toBe('$X y');
    expect(() => interpolate('${X:?need X}', {})).toThrow(/need X/);
  });
});
