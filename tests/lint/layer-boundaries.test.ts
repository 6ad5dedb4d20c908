/**
 * Proves the layer rules in eslint.config.js bite: each forbidden import below must fail lint, and
 * the allowed ones must pass. Uses ESLint's API on in-memory text at real paths of each layer.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function restrictedImportErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const forbidden: [string, string][] = [
  ['renderer/src/probe.ts', "import { x } from '@emdad/device-drivers';\nexport const y = x;\n"],
  ['renderer/src/probe.ts', "import { x } from '@emdad/electron/main';\nexport const y = x;\n"],
  ['renderer/src/probe.ts', "import { x } from '../../sync-server/src/server.ts';\nexport const y = x;\n"],
  ['domain/src/probe.ts', "import { x } from '@emdad/fixtures';\nexport const y = x;\n"],
  ['domain/src/probe.ts', "import { x } from '../../renderer/src/main.tsx';\nexport const y = x;\n"],
  ['device-drivers/src/probe.ts', "import { x } from '@emdad/electron';\nexport const y = x;\n"],
  ['device-drivers/src/probe.ts', "import { x } from '@emdad/renderer';\nexport const y = x;\n"],
  ['sync-server/src/probe.ts', "import { x } from '@emdad/device-drivers';\nexport const y = x;\n"],
];

const allowed: [string, string][] = [
  ['renderer/src/probe.ts', "import { newId } from '@emdad/domain';\nexport const y = newId;\n"],
  ['device-drivers/src/probe.ts', "import { newId } from '@emdad/domain';\nexport const y = newId;\n"],
  ['electron/src/probe.ts', "import { x } from '@emdad/device-drivers';\nexport const y = x;\n"],
  ['sync-server/src/probe.ts', "import { newId } from '@emdad/domain';\nexport const y = newId;\n"],
];

describe('layer boundaries are enforced by lint', () => {
  it.each(forbidden)('%s: forbidden import fails lint (%s)', async (file, code) => {
    const errors = await restrictedImportErrors(file, code);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/must not import/);
  });
  it.each(allowed)('%s: allowed import passes (%s)', async (file, code) => {
    expect(await restrictedImportErrors(file, code)).toEqual([]);
  });
});
