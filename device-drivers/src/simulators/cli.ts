/**
 * Runs a device simulator as its own process on the far end of a socat pty pair, so the app, the
 * `emdad-diag` CLI or a test can open the near end like a real serial port:
 *
 *   npm run simulate -- --device abecs --link /tmp/ttyEMDAD0 [--scenario NAME] [--fault NAME]…
 *
 * It starts `socat -d -d pty,raw,echo=0,link=PATH pty,raw,echo=0` itself, opens the far end with
 * `serialport`, serves the chosen simulator there and, on exit (Ctrl+C, SIGTERM), kills that socat
 * by its PID. The 'unplug_mid_command' fault really pulls the cable: socat is stopped mid-answer
 * and started again on the same link after `--replug-ms`, so the port can be reopened.
 * While running, a line on stdin changes the faults: `faults slow,garbage` or `faults none`.
 */
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { startPtyPair, type PtyPair } from '../testing/pty-pair.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import { AbecsPinpadSimulator, loadAbecsScenario } from './abecs-pinpad-sim.ts';
import { Pp791Simulator, loadPp791Scenario } from './pp791-sim.ts';
import {
  SIMULATOR_FAULTS,
  isSimulatorFault,
  type DeviceSimulator,
  type SimulatorFault,
} from './simulator.ts';

const USAGE = `Usage: npm run simulate -- --device abecs|pp791 --link PATH [--scenario NAME] [--fault NAME]... [--replug-ms N] [--think-ms N]
  --device     which device to simulate: abecs (ABECS PinPad) or pp791 (PP791-dialect terminal)
  --link       path of the port the app opens, e.g. /tmp/ttyEMDAD0 (socat creates the symlink)
  --scenario   fixtures/devices/<device>-<NAME>.json (default: healthy)
  --fault      one of: ${SIMULATOR_FAULTS.join(', ')} (repeatable)
  --replug-ms  after 'unplug_mid_command', how long the cable stays out (default 2000)
  --think-ms   override the scenario's think time per command, in ms`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseFaults(list: readonly string[]): SimulatorFault[] {
  const out: SimulatorFault[] = [];
  for (const item of list
    .flatMap((f) => f.split(','))
    .map((f) => f.trim())
    .filter((f) => f !== '' && f !== 'none')) {
    if (!isSimulatorFault(item)) fail(`Unknown fault "${item}".`);
    out.push(item);
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      device: { type: 'string' },
      link: { type: 'string' },
      scenario: { type: 'string', default: 'healthy' },
      fault: { type: 'string', multiple: true, default: [] },
      'replug-ms': { type: 'string', default: '2000' },
      'think-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const device = values.device;
  if (device !== 'abecs' && device !== 'pp791')
    fail('Choose a device with --device abecs or --device pp791.');
  const link = values.link;
  if (!link) fail('Give the port path to create with --link, e.g. --link /tmp/ttyEMDAD0.');
  const replugMs = Number(values['replug-ms']);
  if (!Number.isFinite(replugMs) || replugMs < 0) fail('--replug-ms must be a number of milliseconds.');
  const extraFaults = parseFaults(values.fault ?? []);
  const thinkMs = values['think-ms'] === undefined ? undefined : Number(values['think-ms']);
  if (thinkMs !== undefined && !(Number.isInteger(thinkMs) && thinkMs >= 0 && thinkMs <= 10_000)) {
    fail('--think-ms must be a whole number of milliseconds from 0 to 10000.');
  }

  let pair: PtyPair | null = null;
  let transport: SerialTransport | null = null;
  let stopping = false;
  let simulator: DeviceSimulator;
  let scenarioFaults: readonly SimulatorFault[];

  const unplug = (): void => {
    // Really pull the cable: the host sees its port vanish, then come back on the same path.
    const current = pair;
    const t = transport;
    transport = null;
    pair = null;
    simulator.detach();
    void (async () => {
      await t?.close().catch(() => undefined);
      await current?.stop();
      console.log(`UNPLUGGED ${link}`);
      setTimeout(() => void plugIn().catch((e: unknown) => shutdown(1, e)), replugMs);
    })();
  };

  if (device === 'abecs') {
    const loaded = await loadAbecsScenario(values.scenario);
    const scenario = thinkMs === undefined ? loaded : { ...loaded, thinkTimeMs: thinkMs };
    scenarioFaults = scenario.faults;
    simulator = new AbecsPinpadSimulator(scenario, { onUnplug: unplug });
  } else {
    const loaded = await loadPp791Scenario(values.scenario);
    const scenario = thinkMs === undefined ? loaded : { ...loaded, thinkTimeMs: thinkMs };
    scenarioFaults = scenario.faults;
    simulator = new Pp791Simulator(scenario, { onUnplug: unplug });
  }
  const faults = [...new Set([...scenarioFaults, ...extraFaults])];
  simulator.setFaults(faults);

  async function plugIn(): Promise<void> {
    if (stopping) return;
    const p = await startPtyPair({ link: link as string });
    pair = p;
    // The pty ignores line settings; 19200 8N1 is what both simulated devices use.
    const t = new SerialTransport({ path: p.devicePath, baudRate: 19200 });
    await t.open();
    transport = t;
    simulator.attach(t);
    void p.exited.then(() => {
      if (!stopping && pair === p) shutdown(1, new Error('socat exited unexpectedly'));
    });
    console.log(`READY ${link}`);
  }

  async function cleanup(): Promise<void> {
    stopping = true;
    simulator.detach();
    await transport?.close().catch(() => undefined);
    await pair?.stop();
  }

  function shutdown(code: number, error?: unknown): void {
    if (error) console.error(error instanceof Error ? error.message : String(error));
    void cleanup().finally(() => process.exit(code));
  }

  // Last resort if we die some other way: socat must not outlive us (killed by its own PID).
  process.on('exit', () => {
    const p = pair as PtyPair | null;
    if (p) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGHUP', () => shutdown(0));

  await plugIn();
  console.log(
    `${device === 'abecs' ? 'ABECS PinPad' : 'PP791 terminal'} simulator, scenario "${values.scenario}", faults: ${faults.length ? faults.join(', ') : 'none'}, think time ${simulator.thinkTimeMs} ms. Open ${link} at 19200 baud. Ctrl+C stops it.`,
  );

  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = /^\s*faults\s+(.*)$/.exec(line);
    if (!m) return;
    const next = (m[1] ?? '').split(/[\s,]+/).filter((f) => f !== '' && f !== 'none');
    const bad = next.filter((f) => !isSimulatorFault(f));
    if (bad.length > 0) {
      console.error(`Unknown fault(s): ${bad.join(', ')}`);
      return;
    }
    simulator.setFaults(next as SimulatorFault[]);
    console.log(`FAULTS ${next.length ? next.join(',') : 'none'}`);
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
