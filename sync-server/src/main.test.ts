import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = mkdtempSync(join(tmpdir(), 'emdad-main-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm start (src/main.ts)', () => {
  it('starts on PGlite in EMDAD_DATA_DIR with the demo data, prints its URL, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: packageDir,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        EMDAD_DATA_DIR: join(dataDir, 'pglite'),
        EMDAD_SEED: 'demo',
        EMDAD_LOG_LEVEL: 'warn',
        DATABASE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed within 45 s:\n${output}`)), 45_000);
        const check = () => {
          const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        };
        child.stdout.on('data', check);
        void exited.then(() => reject(new Error(`exited early:\n${output}`)));
      });
      expect(output).toContain('PGlite in');
      const health = await (await fetch(`${url}/health`)).json();
      expect(health).toMatchObject({ ok: true, database: 'pglite' });
      const login = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username: 'tech1',
          password: 'Emdad-tech1-1404',
          installId: 'install-main-test',
        }),
      });
      expect(login.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 90_000);
});
