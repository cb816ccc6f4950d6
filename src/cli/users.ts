// `omnistock users add|list`: staff users from the command line (contract §11). The password
// is read from stdin (one line), never from an argument, which other users of the machine could
// see in the process list.
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/open-database.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLES, USER_ID_PATTERN, type Role } from '../core/staff-user.js';
import { UserStore } from '../staff/user-store.js';

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (input is shown; pipe it in to avoid that): ');
  let data = '';
  for await (const chunk of process.stdin) {
    data += String(chunk);
    if (data.includes('\n')) break;
  }
  return data.split(/\r?\n/)[0] ?? '';
}

export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('manage staff users of the web app');
  users
    .command('add <id>')
    .description('create or update a user; the password is read from the first line of stdin')
    .requiredOption('--name <name>', 'display name')
    .addOption(new Option('--role <role>', 'what the user may do').choices([...ROLES]).makeOptionMandatory())
    .requiredOption('--location <id...>', 'locations the user works at (one or more)')
    .option('--keep-password', 'update an existing user without changing the password (reads no stdin)')
    .action(async (id: string, o: { name: string; role: Role; location: string[]; keepPassword?: boolean }) => {
      if (!USER_ID_PATTERN.test(id)) throw new Error('user id must match ^[A-Za-z0-9._@-]{1,64}$');
      const password = o.keepPassword ? undefined : await readPassword();
      if (password !== undefined && (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)) {
        throw new Error(`the password needs at least ${MIN_PASSWORD_LENGTH} characters`);
      }
      const config = loadConfig();
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const { user, created } = await new UserStore(db).upsert(id, { name: o.name, role: o.role, locationIds: o.location, password });
        process.stdout.write(`${created ? 'created' : 'updated'} ${user.id} (${user.role}) at ${user.locationIds.join(', ')}\n`);
      } finally {
        await db.close();
      }
    });
  users
    .command('list')
    .description('list users')
    .action(async () => {
      const config = loadConfig();
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        for (const u of await new UserStore(db).list()) process.stdout.write(`${u.id}\t${u.role}\t${u.locationIds.join(',')}\t${u.name}\n`);
      } finally {
        await db.close();
      }
    });
}
