#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run through tsx, so a bench with no build step can use it.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/emdad-diag.ts');
