/**
 * Entry point of the `emdad-diag` command (bin/emdad-diag.mjs loads this through tsx). The logic
 * lives in run-cli.ts so tests can run it in-process; this file only binds it to the process.
 */
import { createDeviceService } from '../service/default-service.ts';
import { runCli } from './run-cli.ts';

const interrupted = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nCancelling… / در حال لغو…\n');
  interrupted.abort();
});

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  createService: () => createDeviceService(),
  signal: interrupted.signal,
});
process.exitCode = code;
