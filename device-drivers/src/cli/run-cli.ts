/**
 * `emdad-diag`: run a device's diagnostic suite from a terminal on the bench, with no app.
 *
 *   emdad-diag --port PATH [--protocol abecs|stx|auto] [--baud N] [--data-bits 7|8]
 *              [--parity none|even|odd] [--json] [--lang en|fa] [--frames]
 *   emdad-diag --auto [--port PATH]…          detect what is attached (every listed serial
 *                                             port and USB card reader when no --port is given)
 *                                             and run its suite
 *
 * Exit codes: 0 healthy · 1 degraded or faulty · 2 usage or port error (busy, permission, not
 * found, protocol not recognised) · 3 incomplete (the run could not finish: unplugged, no answer,
 * cancelled with Ctrl-C).
 */
import { parseArgs } from 'node:util';
import type { DiagnosticRunResult, Verdict } from '@emdad/domain';
import type { ConnectOptions, DeviceService, SessionInfo } from '../service/device-service.ts';
import {
  DeviceServiceError,
  toServiceErrorPayload,
  type DeviceServiceErrorPayload,
} from '../service/errors.ts';
import type { SerialLineSettings } from '../transport/transport.ts';
import { formatRunReport, type ReportLanguage } from './report.ts';

export const EXIT = { healthy: 0, problem: 1, usage: 2, incomplete: 3 } as const;

export const USAGE = `Usage:
  emdad-diag --port PATH [--protocol abecs|stx|auto] [--baud N] [--data-bits 7|8]
             [--parity none|even|odd] [--json] [--lang en|fa] [--frames]
  emdad-diag --auto [--port PATH]... [--json] [--lang en|fa]

Runs the diagnostic suite of the POS terminal or PinPad on a serial port and prints a report.
  --port PATH     serial port (e.g. /dev/ttyUSB0, COM3, a pty); repeatable with --auto
  --protocol P    abecs, stx or auto (default auto: try each protocol's handshake)
  --baud N        line speed for an explicit protocol (default: the protocol's usual speed)
  --auto          detect what is attached; without --port, every serial port and USB card
                  reader the system lists
  --json          print the results as JSON (prompts still go to stderr)
  --lang en|fa    report language (default en)
  --frames        include each step's raw frames (hex) in the text report

Exit codes: 0 healthy, 1 degraded or faulty, 2 usage or port error,
            3 incomplete (unplugged, no answer or cancelled).`;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  createService: () => DeviceService;
  /** Aborted on Ctrl-C: the running suites are cancelled and the partial report printed. */
  signal?: AbortSignal;
}

export interface PortReport {
  path: string;
  protocol: string | null;
  family: string | null;
  line: SerialLineSettings | null;
  /** Driver variant auto-detect settled on (e.g. 7E1 parity in software). */
  variant: string | null;
  result: DiagnosticRunResult | null;
  error: DeviceServiceErrorPayload | null;
}

function verdictExit(verdict: Verdict): number {
  if (verdict === 'healthy') return EXIT.healthy;
  if (verdict === 'incomplete') return EXIT.incomplete;
  return EXIT.problem;
}

class UsageError extends Error {}

interface ParsedArgs {
  ports: string[];
  auto: boolean;
  json: boolean;
  frames: boolean;
  lang: ReportLanguage;
  connect: ConnectOptions;
}

function parse(argv: readonly string[]): ParsedArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', multiple: true },
        protocol: { type: 'string' },
        baud: { type: 'string' },
        'data-bits': { type: 'string' },
        parity: { type: 'string' },
        auto: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        frames: { type: 'boolean', default: false },
        lang: { type: 'string', default: 'en' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const ports = values.port ?? [];
  const auto = values.auto === true;
  if (!auto && ports.length !== 1)
    throw new UsageError(
      ports.length === 0 ? 'Give --port PATH, or --auto.' : 'Give one --port (or use --auto for several).',
    );
  const protocol = values.protocol ?? 'auto';
  if (!['abecs', 'stx', 'auto'].includes(protocol))
    throw new UsageError(`Unknown protocol "${protocol}": use abecs, stx or auto.`);
  if (auto && protocol !== 'auto')
    throw new UsageError('--auto detects the protocol itself: leave out --protocol.');
  const lang = values.lang;
  if (lang !== 'en' && lang !== 'fa') throw new UsageError('--lang must be en or fa.');
  const line: Partial<SerialLineSettings> = {};
  if (values.baud !== undefined) {
    const baud = Number(values.baud);
    if (!Number.isInteger(baud) || baud < 300 || baud > 921_600)
      throw new UsageError(`--baud must be a line speed such as 9600 or 19200, not "${values.baud}".`);
    line.baudRate = baud;
  }
  if (values['data-bits'] !== undefined) {
    if (values['data-bits'] !== '7' && values['data-bits'] !== '8')
      throw new UsageError('--data-bits must be 7 or 8.');
    line.dataBits = values['data-bits'] === '7' ? 7 : 8;
  }
  if (values.parity !== undefined) {
    if (values.parity !== 'none' && values.parity !== 'even' && values.parity !== 'odd')
      throw new UsageError('--parity must be none, even or odd.');
    line.parity = values.parity;
  }
  if (Object.keys(line).length > 0 && protocol === 'auto')
    throw new UsageError(
      "Line settings need an explicit --protocol (auto-detect tries each protocol's own settings).",
    );
  const connect: ConnectOptions =
    protocol === 'auto'
      ? { protocol: 'auto' }
      : // An explicit protocol runs the suite even if the first handshake fails: the report then
        // shows where and how it failed, with the frames, which is what a bench needs.
        { protocol: protocol as 'abecs' | 'stx', probe: false, line };
  return { ports, auto, json: values.json === true, frames: values.frames === true, lang, connect };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args: ParsedArgs | 'help';
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`emdad-diag: ${error.message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (args === 'help') {
    io.stdout(`${USAGE}\n`);
    return EXIT.healthy;
  }
  const { lang } = args;
  const service = io.createService();
  try {
    let ports = args.ports;
    if (ports.length === 0) {
      const listed = await service.listDevices();
      // Serial ports and the USB HID card readers we have a driver for (the service filters those).
      ports = listed.map((d) => d.path);
      if (ports.length === 0) {
        io.stderr(
          lang === 'fa'
            ? 'هیچ پورت سریال یا کارت‌خوانی پیدا نشد. دستگاه را وصل کنید یا مسیر پورت را با --port بدهید.\n'
            : 'No serial ports or card readers were found. Plug the device in, or give the port with --port PATH.\n',
        );
        return EXIT.usage;
      }
    }
    const reports: PortReport[] = [];
    for (const path of ports) {
      if (io.signal?.aborted) break;
      reports.push(await diagnosePort(service, path, args, io));
    }
    if (args.json) {
      io.stdout(`${JSON.stringify({ reports }, null, 2)}\n`);
    } else {
      const blocks = reports.map((r) => {
        if (r.result)
          return formatRunReport(r.result, lang, {
            protocol: r.protocol,
            line: r.line,
            variant: r.variant,
            frames: args.frames,
          });
        const e = r.error;
        return `${lang === 'fa' ? 'پورت' : 'Port'}: ${r.path}\n${e ? `${e.sentence[lang]}${e.diagnosticCode ? ` (${e.diagnosticCode})` : ''}` : ''}`;
      });
      io.stdout(`${blocks.join('\n\n' + '-'.repeat(60) + '\n\n')}\n`);
    }
    return combinedExit(reports);
  } finally {
    await service.shutdown();
  }
}

function combinedExit(reports: readonly PortReport[]): number {
  let worst: number = EXIT.healthy;
  // With --auto over several ports, a port where nothing answered is not an error if another
  // port had a device: the technician asked "whatever is attached".
  const anyResult = reports.some((r) => r.result !== null);
  for (const r of reports) {
    const code = r.result
      ? verdictExit(r.result.verdict)
      : anyResult && r.error?.code === 'protocol_not_recognised'
        ? EXIT.healthy
        : EXIT.usage;
    const rank = (c: number) =>
      ({ [EXIT.healthy]: 0, [EXIT.problem]: 2, [EXIT.incomplete]: 1, [EXIT.usage]: 3 })[c] ?? 3;
    if (rank(code) > rank(worst)) worst = code;
  }
  return reports.length === 0 ? EXIT.incomplete : worst;
}

async function diagnosePort(
  service: DeviceService,
  path: string,
  args: ParsedArgs,
  io: CliIo,
): Promise<PortReport> {
  const { lang } = args;
  service.addPath(path);
  let session: SessionInfo;
  try {
    if (!args.json) io.stderr(`${lang === 'fa' ? 'اتصال به' : 'Connecting to'} ${path}…\n`);
    session = await service.connect(path, args.connect);
  } catch (error) {
    const payload = toServiceErrorPayload(error);
    if (!(error instanceof DeviceServiceError) || !args.json)
      io.stderr(`${path}: ${payload.sentence[lang]}\n`);
    return { path, protocol: null, family: null, line: null, variant: null, result: null, error: payload };
  }
  const off = service.subscribe((event) => {
    if (event.kind !== 'diagnostic_progress') return;
    const e = event.data.event;
    if (e.type === 'prompt') io.stderr(`>>> ${e.message[lang]}\n`);
    else if (e.type === 'step_started' && !args.json)
      io.stderr(`[${e.index + 1}/${e.total}] ${e.title[lang]}…\n`);
  });
  try {
    const { runId } = service.runSuite(session.sessionId, { language: lang });
    const onAbort = (): void => void service.cancel(runId).catch(() => undefined);
    io.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await service.waitForRun(runId);
      return {
        path,
        protocol: session.protocol,
        family: session.family,
        line: session.line,
        variant: session.variant,
        result,
        error: null,
      };
    } finally {
      io.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    off();
    await service.disconnect(session.sessionId).catch(() => undefined);
  }
}
