import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the server keeps its data by default: $XDG_DATA_HOME/emdad-field or ~/.local/share/emdad-field. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_DATA_HOME && env.XDG_DATA_HOME.trim() !== ''
      ? env.XDG_DATA_HOME
      : join(homedir(), '.local', 'share');
  return join(base, 'emdad-field');
}
