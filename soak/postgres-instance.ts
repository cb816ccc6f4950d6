// The soak's own PostgreSQL server: initdb into a temporary directory, started on a free
// loopback port, run as the postgres user (initdb and postgres refuse root). The soak restarts
// it and makes it refuse connections; the shared server on 5432, which other test runs use, is
// never touched.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresInstance {
  /** TCP URL, as the services use it (the faults below act on it). */
  url: string;
  /** Unix-socket URL for the harness's own checks: pg_hba refusals leave it open. */
  harnessUrl: string;
  port: number;
  /** `pg_ctl restart -m fast`: every session is ended, the server is back within seconds. */
  fastRestart(): Promise<void>;
  /** New TCP connections are rejected by pg_hba (sessions already open carry on); false lets them in again. */
  refuseNewConnections(refuse: boolean): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const HBA_OPEN = 'local all all trust\nhost all all 127.0.0.1/32 trust\n';
const HBA_REFUSING = 'local all all trust\nhost all all 127.0.0.1/32 reject\n';

export async function startPostgresInstance(): Promise<PostgresInstance> {
  const bin = binDir();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-soak-pg-'));
  const data = path.join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  // Who runs the server: postgres via runuser when we are root, else ourselves.
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));
  if (asRoot) await run('chown', ['postgres:postgres', root]);
  fs.chmodSync(root, 0o755);
  await as(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  const port = await freePort();
  fs.appendFileSync(path.join(data, 'postgresql.conf'), [
    `port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${root}'`,
    'max_connections = 100', 'shared_buffers = 128MB', "log_min_messages = 'fatal'", 'logging_collector = off',
  ].join('\n') + '\n');
  fs.writeFileSync(path.join(data, 'pg_hba.conf'), HBA_OPEN);
  if (asRoot) await run('chown', ['postgres:postgres', path.join(data, 'pg_hba.conf')]);
  const log = path.join(root, 'server.log');
  const pgctl = (args: string[]) => as(path.join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', ...args]);
  await pgctl(['start']);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    harnessUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(root)}&port=${port}`,
    port,
    fastRestart: async () => {
      await pgctl(['-m', 'fast', 'restart']);
    },
    refuseNewConnections: async (refuse) => {
      fs.writeFileSync(path.join(data, 'pg_hba.conf'), refuse ? HBA_REFUSING : HBA_OPEN);
      await pgctl(['reload']);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pgctl(['-m', 'immediate', 'stop']).catch(() => {});
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
