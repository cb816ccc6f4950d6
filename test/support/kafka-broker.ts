// A real Kafka wire-protocol broker for tests: librdkafka's mock cluster, run by the small C
// helper in test/broker/mock-kafka.c (built here on first use), with fault injection through
// its stdin command protocol. See /work/shared/notes/kafka-in-ci.md for what it supports.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

// `inject` exists only inside a test worker; importing 'vitest' in globalSetup's process (which
// imports this file for startMockKafka) throws, so load it only where it works.
const vitestInject = process.env.VITEST_WORKER_ID !== undefined ? (await import('vitest')).inject : undefined;

const BROKER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../broker');
export const MOCK_KAFKA_SOURCE = path.join(BROKER_DIR, 'mock-kafka.c');
export const MOCK_KAFKA_BINARY = path.join(BROKER_DIR, 'mock-kafka');

export interface MockKafkaOptions {
  /** Topics to pre-create (default: inventory.events with 8 partitions, inventory.atp with 4). */
  topics?: Array<{ name: string; partitions: number }>;
  /** Number of brokers, ids 1..N (default 1). */
  brokers?: number;
}

export interface MockKafka {
  /** host:port of every broker, for kafkajs `brokers`. */
  brokers: string[];
  /**
   * Sends one control command and resolves on `ok`; rejects with the broker's message on `err`.
   * Commands: `topic <name> <partitions>`, `down <brokerId>`, `up <brokerId>` (ids 1..N, -1 = all),
   * `errors <apiKey> <count> <errcode>` (Produce=0, Fetch=1; errcode a number or a name such as
   * NOT_LEADER_FOR_PARTITION; count 0 clears), `rtt <brokerId> <ms>`, `ping`.
   */
  command(line: string): Promise<void>;
  /** Closes the helper's stdin and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with how the broker process ended, whether by stop() or not (killed, crashed). */
  ended: Promise<string>;
}

/** Brokers for tests that need no fault injection: KAFKA_BROKERS (a real Kafka) if set, else the run's shared mock. */
export function kafkaBrokersForTests(): string[] {
  const fromEnv = parseBrokerList(process.env.KAFKA_BROKERS);
  if (fromEnv.length > 0) return fromEnv;
  const provided = vitestInject?.('kafkaBrokers');
  if (!provided || provided.length === 0) throw new Error('no Kafka brokers: is test/support/global-setup.ts configured as vitest globalSetup?');
  return provided;
}

export function parseBrokerList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

/** Builds test/broker/mock-kafka when it is missing or older than its source. Safe to call from several processes at once. */
export function ensureMockKafkaBinary(): Promise<string> {
  return ensureLibrdkafkaBinary(MOCK_KAFKA_SOURCE, MOCK_KAFKA_BINARY);
}

/** Compiles a one-file C program against librdkafka when its binary is missing or older than its source. */
export async function ensureLibrdkafkaBinary(source: string, binary: string): Promise<string> {
  const src = fs.statSync(source);
  const bin = statOrNull(binary);
  if (bin && bin.mtimeMs >= src.mtimeMs) return binary;
  // Each builder writes its own temporary file and renames it into place: rename is atomic,
  // so concurrent workers never run (or overwrite) a half-written binary.
  const tmp = path.join(path.dirname(binary), `.${path.basename(binary)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const cc = process.env.CC || 'gcc';
  try {
    await execFileAsync(cc, ['-O2', '-Wall', '-o', tmp, source, '-lrdkafka'], { timeout: 120_000 });
    fs.renameSync(tmp, binary);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const hint = e.code === 'ENOENT' ? `${cc} not found` : (e.stderr ?? e.message).trim();
    throw new Error(`building ${path.relative(process.cwd(), binary)} failed (needs gcc and librdkafka-dev: apt-get install -y gcc librdkafka-dev): ${hint}`);
  }
  return binary;
}

/** Starts a fresh in-memory Kafka cluster (always a mock, whatever KAFKA_BROKERS says). */
export async function startMockKafka(opts: MockKafkaOptions = {}): Promise<MockKafka> {
  const binary = await ensureMockKafkaBinary();
  const args: string[] = [];
  if (opts.brokers !== undefined) {
    if (!Number.isInteger(opts.brokers) || opts.brokers < 1) throw new Error(`brokers must be a positive integer, got ${opts.brokers}`);
    args.push('--brokers', String(opts.brokers));
  }
  for (const t of opts.topics ?? []) {
    if (!t.name || /[\s:]/.test(t.name) || !Number.isInteger(t.partitions) || t.partitions < 1) {
      throw new Error(`bad topic ${JSON.stringify(t)}`);
    }
    args.push('--topic', `${t.name}:${t.partitions}`);
  }

  const child: ChildProcessWithoutNullStreams = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  // Writes after the child died must not become unhandled 'error' events.
  child.stdin.on('error', () => {});

  let exited = false;
  const ended = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
    child.once('error', (err) => {
      exited = true;
      resolve(`could not run: ${err.message}`);
    });
  });
  const exitPromise = ended.then(() => {});

  // Every stdout line after the first answers the oldest pending command.
  const pending: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  let firstLine: { resolve: (line: string) => void; reject: (err: Error) => void } | null = null;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (firstLine) {
      const f = firstLine;
      firstLine = null;
      f.resolve(line);
      return;
    }
    pending.shift()?.resolve(line);
  });
  const failAll = (why: string) => {
    const err = new Error(`mock Kafka ${why}${stderr ? `: ${stderr.trim()}` : ''}`);
    firstLine?.reject(err);
    firstLine = null;
    for (const p of pending.splice(0)) p.reject(err);
  };
  child.once('error', (err) => failAll(`could not start (${err.message})`));
  child.once('exit', (code, signal) => failAll(`exited (${signal ?? `code ${code}`})`));

  let bootstrap: string;
  try {
    bootstrap = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mock Kafka did not print its bootstrap servers within 15s${stderr ? `: ${stderr.trim()}` : ''}`)), 15_000);
      const clear = () => clearTimeout(timer);
      firstLine = {
        resolve: (l) => (clear(), resolve(l)),
        reject: (e) => (clear(), reject(e)),
      };
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  let chain: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<void> => {
    if (/[\r\n]/.test(line)) return Promise.reject(new Error('a mock Kafka command is one line'));
    const run = async (): Promise<void> => {
      if (exited) throw new Error(`mock Kafka is not running (command "${line}")`);
      const answer = await new Promise<string>((resolve, reject) => {
        pending.push({ resolve, reject });
        child.stdin.write(`${line}\n`);
      });
      if (answer === 'ok') return;
      throw new Error(`mock Kafka command "${line}" failed: ${answer.replace(/^err /, '')}`);
    };
    // Serialised so answers pair with commands even when callers do not await each other.
    const result = chain.then(run, run);
    chain = result.catch(() => {});
    return result;
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      lines.close();
    })();
    return stopping;
  };

  return { brokers: parseBrokerList(bootstrap), command, stop, ended };
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}
