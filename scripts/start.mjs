#!/usr/bin/env node
// `npm start`: the whole product on one machine, for a demo or a day of development.
//   1. builds the renderer when renderer/dist is missing or older than its sources;
//   2. starts the sync server on PGlite (EMDAD_DATA_DIR, default .emdad-data/) with the demo data;
//   3. starts a simulated ABECS PinPad on a pty link (needs socat);
//   4. starts the local device agent (the browser's way to the device service);
//   5. launches Electron when its binary exists, otherwise prints the one browser URL to open.
// Ctrl-C / SIGTERM stops every child it started, by PID, and exits 0.
// Children's output goes to <data dir>/logs/*.log so this terminal stays readable.
//
// Environment: PORT (sync server, default 8787), EMDAD_DATA_DIR (PGlite data; default
// ~/.local/share/emdad-field/pglite, logs beside it in ../logs), EMDAD_AGENT_PORT,
// EMDAD_SIM_LINK (default /tmp/ttyEMDAD0), EMDAD_NO_SIMULATOR=1, EMDAD_NO_ELECTRON=1.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const port = Number(env.PORT ?? 8787);
const serverUrl = `http://127.0.0.1:${port}`;
// Same default as sync-server/src/config.ts: $XDG_DATA_HOME/emdad-field or ~/.local/share/emdad-field.
const appHome = path.join(
  env.XDG_DATA_HOME?.trim() || path.join(homedir(), '.local', 'share'),
  'emdad-field',
);
const dataDir = env.EMDAD_DATA_DIR?.trim() ? path.resolve(env.EMDAD_DATA_DIR) : path.join(appHome, 'pglite');
const logDir = path.join(appHome, 'logs');
const simLink = env.EMDAD_SIM_LINK ?? '/tmp/ttyEMDAD0';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Children we started: name → ChildProcess. Each is its own process-group leader (detached). */
const children = new Map();
let stopping = false;

function say(line) {
  process.stdout.write(`${line}\n`);
}

function fail(message, logFile) {
  process.stderr.write(`\n${message}\n`);
  if (logFile && existsSync(logFile)) {
    const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
    if (tail) process.stderr.write(`--- last lines of ${logFile} ---\n${tail}\n`);
  }
  return stop(1);
}

/** Stops every child we started — the process group each leads, by its PID — then exits. */
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  const alive = [...children.values()].filter(
    (child) => child.exitCode === null && child.signalCode === null,
  );
  const exited = alive.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of alive) signal(child, 'SIGTERM');
  const timer = setTimeout(() => {
    for (const child of alive) signal(child, 'SIGKILL');
  }, 5000);
  await Promise.all(exited);
  clearTimeout(timer);
  process.exit(code);
}

function signal(child, name) {
  try {
    process.kill(-child.pid, name); // the group: a tsx child's own children (socat) go with it
  } catch {
    try {
      child.kill(name);
    } catch {
      /* already gone */
    }
  }
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

/**
 * Starts a TypeScript entry with tsx (`node --import tsx`); stderr and stdout go to
 * logs/<name>.log (stdout lines through `redact`). Returns the child, its log and `firstLine(test)`,
 * which resolves with the first stdout line passing `test` (null if the child exits first).
 */
function startTs(name, file, args, extraEnv, redact = (line) => line) {
  const logFile = path.join(logDir, `${name.replace(/\s+/g, '-')}.log`);
  const log = createWriteStream(logFile, { flags: 'w' });
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: root,
    env: { ...env, ...extraEnv },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(log);
  const lines = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    log.write(`${redact(line)}\n`);
    lines.push(line);
    for (const waiter of waiters) {
      if (waiter.test(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  children.set(name, child);
  child.once('exit', (code, sig) => {
    for (const waiter of waiters) waiter.resolve(null);
    waiters.clear();
    if (!stopping)
      void fail(`The ${name} stopped unexpectedly (${sig ?? `exit ${code}`}); stopping everything.`, logFile);
  });
  const firstLine = (test) =>
    new Promise((resolve) => {
      const seen = lines.find(test);
      if (seen !== undefined) return resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
      waiters.add({ test, resolve });
    });
  return { child, logFile, firstLine };
}

// ---------------------------------------------------------------------------------------------
// 1. Renderer build
function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'build') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function rendererIsStale() {
  const built = path.join(root, 'renderer', 'dist', 'index.html');
  if (!existsSync(built)) return true;
  const sources = Math.max(
    newestMtime(path.join(root, 'renderer', 'src')),
    newestMtime(path.join(root, 'renderer', 'public')),
    newestMtime(path.join(root, 'domain', 'src')),
    ...['index.html', 'vite.config.ts', 'package.json'].map((f) => {
      const p = path.join(root, 'renderer', f);
      return existsSync(p) ? statSync(p).mtimeMs : 0;
    }),
  );
  return sources > statSync(built).mtimeMs;
}

function buildWorkspace(workspace, what) {
  const result = spawnSync(npm, ['run', 'build', '-w', workspace], { cwd: root, encoding: 'utf8', env });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trimEnd().split('\n').slice(-20).join('\n');
    process.stderr.write(`${output}\n`);
    return fail(`The ${what} could not be built. Fix the error above and run npm start again.`);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// 2. Sync server: its port must be free (else /health could answer from another server), then healthy.
function portIsFree(portNumber) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port: portNumber, host: '127.0.0.1', exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}

async function waitForHealth(child, logFile, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || stopping) return false;
    try {
      const response = await fetch(`${serverUrl}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return true;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await fail(
    `The sync server did not become healthy at ${serverUrl}/health within ${timeoutMs / 1000} s.`,
    logFile,
  );
  return false;
}

// ---------------------------------------------------------------------------------------------
// 3. Simulator
function socatAvailable() {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

// ---------------------------------------------------------------------------------------------
// 4. Agent: its first stdout line is { url, token, origins }.
/** The browser URL: the renderer reads `agent` and `agentToken` from the hash route's query. */
function browserUrl(agent) {
  const query = new URLSearchParams({ agent: agent.url, agentToken: agent.token });
  return `${serverUrl}/#/?${query}`;
}

// ---------------------------------------------------------------------------------------------
// 5. Electron
function electronBinary() {
  const pkg = path.join(root, 'node_modules', 'electron');
  const pathFile = path.join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const relative = readFileSync(pathFile, 'utf8').trim();
  const binary = env.ELECTRON_OVERRIDE_DIST_PATH
    ? path.join(env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron')
    : path.join(pkg, 'dist', relative);
  return existsSync(binary) ? binary : null; // never trigger electron's download
}

function demoAccounts() {
  const readme = path.join(root, 'fixtures', 'README.md');
  if (!existsSync(readme)) return [];
  const accounts = [];
  for (const line of readFileSync(readme, 'utf8').split('\n')) {
    const match = /^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|/.exec(line);
    if (match) accounts.push({ username: match[1], password: match[2], role: match[3] });
  }
  return accounts;
}

// ---------------------------------------------------------------------------------------------
async function main() {
  mkdirSync(logDir, { recursive: true });
  say(`Emdad Field: starting (data in ${dataDir}, logs in ${logDir})`);

  if (!(await portIsFree(port))) {
    return fail(
      `Port ${port} is already in use (another Emdad Field or program). Stop it, or choose another port: PORT=8788 npm start`,
    );
  }

  if (!existsSync(path.join(root, 'renderer', 'index.html'))) {
    say('The renderer has no index.html yet: the server will start without the field app.');
  } else if (rendererIsStale()) {
    say('Building the field app (renderer)…');
    if ((await buildWorkspace('@emdad/renderer', 'field app (renderer)')) !== true) return;
  }

  const server = startTs('sync server', 'sync-server/src/main.ts', [], {
    PORT: String(port),
    HOST: env.HOST ?? '127.0.0.1',
    EMDAD_DATA_DIR: dataDir,
    EMDAD_RENDERER_DIST: path.join(root, 'renderer', 'dist'),
    EMDAD_SEED: env.EMDAD_SEED ?? 'demo',
  });
  if (!(await waitForHealth(server.child, server.logFile))) return;
  say(`✓ sync server     ${serverUrl}  (PGlite, demo data)`);

  const devicePaths = [];
  if (env.EMDAD_NO_SIMULATOR === '1') {
    say('- PinPad simulator skipped (EMDAD_NO_SIMULATOR=1)');
  } else if (!socatAvailable()) {
    say('- No simulated PinPad: socat is not installed (sudo apt-get install socat), continuing without it.');
  } else {
    const simulatorCli = path.join(root, 'device-drivers', 'src', 'simulators', 'cli.ts');
    if (!existsSync(simulatorCli)) {
      say('- No simulated PinPad: the simulator harness is not in this checkout yet, continuing without it.');
    } else {
      const sim = startTs('PinPad simulator', simulatorCli, ['--device', 'abecs', '--link', simLink], {});
      // The harness prints "READY <link>" once socat made the link and the simulator listens on it.
      const ready = await Promise.race([
        sim.firstLine((line) => line.startsWith('READY ')),
        new Promise((resolve) => setTimeout(() => resolve(null), 20_000)),
      ]);
      if (!ready) return fail(`The PinPad simulator did not come up on ${simLink}.`, sim.logFile);
      devicePaths.push(simLink);
      say(`✓ PinPad simulator ABECS on ${simLink}`);
    }
  }

  const agentProcess = startTs(
    'device agent',
    'electron/src/agent/main.ts',
    [],
    { EMDAD_SERVER_URL: serverUrl, EMDAD_DEVICE_PATHS: devicePaths.join(path.delimiter) },
    (line) => line.replace(/"token":"[^"]*"/, '"token":"(hidden)"'), // keep the token out of logs
  );
  const agentLine = await agentProcess.firstLine((line) => line.startsWith('{'));
  let agent;
  try {
    agent = agentLine && JSON.parse(agentLine);
  } catch {
    agent = null;
  }
  if (!agent?.url || !agent?.token) return fail('The device agent did not start.', agentProcess.logFile);
  say(`✓ device agent    ${agent.url}  (loopback only, token required)`);

  const accounts = demoAccounts();
  if (accounts.length)
    say(`Demo sign-ins: ${accounts.map((a) => `${a.username} / ${a.password}`).join(' · ')}`);

  const binary = env.EMDAD_NO_ELECTRON === '1' ? null : electronBinary();
  if (binary) {
    if ((await buildWorkspace('@emdad/electron', 'Electron main process and preload')) !== true) return;
    const logFile = path.join(logDir, 'electron.log');
    const log = createWriteStream(logFile, { flags: 'w' });
    // Electron refuses to run as root unless Chromium's OS sandbox is off; say so rather than fail.
    const asRoot = process.getuid?.() === 0;
    if (asRoot)
      say(
        '- Running as root: Electron is started with --no-sandbox (run npm start as a normal user to keep it).',
      );
    const app = spawn(binary, [...(asRoot ? ['--no-sandbox'] : []), path.join(root, 'electron')], {
      cwd: root,
      env: { ...env, EMDAD_SERVER_URL: serverUrl, EMDAD_DEVICE_PATHS: devicePaths.join(path.delimiter) },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout.pipe(log);
    app.stderr.pipe(log);
    children.set('field app', app);
    // Closing the app window ends the session.
    app.once('exit', () => void stop(0));
    say('✓ field app       Electron window opened. Close it or press Ctrl-C to stop everything.');
  } else {
    say(`Electron is not installed here (no binary), open ${browserUrl(agent)} in a browser`);
    say('Ctrl-C stops everything.');
  }
}

main().catch((error) => fail(`npm start failed: ${error instanceof Error ? error.stack : String(error)}`));
