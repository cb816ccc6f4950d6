// The project's layout is part of what it promises (issue 2): the top-level pieces, the npm
// scripts, the README's two set-up commands and the CI entry point that calls the test command.
// A piece nobody imports (connectors/ held only ports, and git keeps no empty directory) could
// otherwise go missing without any other test noticing.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');

describe('project layout', () => {
  it('has the top-level files and directories', () => {
    for (const file of ['package.json', 'tsconfig.json', 'docker-compose.yml', 'README.md', 'BENCHMARKS.md', '.ci/run']) {
      expect(fs.statSync(path.join(ROOT, file)).isFile(), file).toBe(true);
    }
    for (const dir of ['src', 'connectors', 'drizzle', 'test']) {
      const entries = fs.readdirSync(path.join(ROOT, dir)).filter((e) => !e.startsWith('.'));
      expect(entries.length, `${dir}/ holds something`).toBeGreaterThan(0);
    }
  });

  it('has the npm scripts start, test, check and bench', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'test', 'check', 'bench']) expect(scripts[name], name).toMatch(/\S/);
    expect(scripts.check).toMatch(/tsc --noEmit/);
    expect(scripts.check).toMatch(/eslint/);
  });

  it('is TypeScript in strict mode over every source directory', () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { strict?: boolean }; include: string[] };
    expect(tsconfig.compilerOptions.strict).toBe(true);
    expect(tsconfig.include).toEqual(expect.arrayContaining(['src', 'connectors', 'test', 'bench']));
  });

  it('gives the two set-up commands in the README, and CI runs its test command', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toMatch(/^npm test\b/m);
    expect(read('.ci/run')).toMatch(/\bnpm test\b|npm run test\b/);
  });

  it('applies every migration in drizzle/: the journal and the SQL files agree', () => {
    // The migrator applies what the journal lists; a SQL file missing from it would never run.
    const journal = JSON.parse(read('drizzle/meta/_journal.json')) as { entries: Array<{ tag: string }> };
    const files = fs.readdirSync(path.join(ROOT, 'drizzle')).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -'.sql'.length));
    expect(files.length).toBeGreaterThan(0);
    expect(journal.entries.map((e) => e.tag).sort()).toEqual(files.sort());
  });
});
