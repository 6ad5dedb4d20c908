/**
 * The device service: the one place the app talks to hardware. The Electron main process and the
 * browser-mode local agent both wrap it (IPC handlers / WebSocket), so it speaks plain values:
 * listings, session info, run ids, `DiagnosticRunResult`s, and pushed events `{ kind, at, data }`.
 *
 * Rules it enforces for the technician:
 * - one session per port: a second connect to the same port is refused ("port in session");
 * - one operation at a time per session (identify or a suite run);
 * - a device that disappears ends its session and any run on it with a clear "unplugged" error,
 *   and frees the port so it can be connected again once the cable is back;
 * - every error is a `DeviceServiceError` carrying a Persian and English sentence.
 */
import { randomUUID } from 'node:crypto';
import type { DeviceFamily, DeviceIdentity, DeviceListing, DiagnosticRunResult } from '@emdad/domain';
import type { DeviceDriver, DriverFactory } from '../drivers/driver.ts';
import { autoDetect, type AutoDetectAttempt, type ProtocolCandidate } from '../diagnostics/auto-detect.ts';
import { runDiagnostics, type DiagnosticProgressEvent } from '../diagnostics/runner.ts';
import { suiteForFamily, type DiagnosticSuite } from '../diagnostics/suites.ts';
import {
  DEFAULT_SERIAL_SETTINGS,
  TransportError,
  type SerialLineSettings,
  type Transport,
  type TransportInfo,
} from '../transport/transport.ts';
import { vendorHint } from '../transport/discovery.ts';
import { DeviceServiceError, fromTransportError } from './errors.ts';

/** A device's harmless handshake answers in well under a second; a silent port costs this per try. */
export const DEFAULT_PROBE_TIMEOUT_MS = 1_000;
/** Auto-detect gives up after this, whatever is left to try. */
export const DEFAULT_DETECT_TIMEOUT_MS = 15_000;

export type DeviceProtocol = DeviceDriver['protocol'];

/** A port the service can open: the device API contract's own type (domain/src/device-api.ts). */
export type { DeviceListing } from '@emdad/domain';

export interface ConnectOptions {
  /** 'auto' (default for serial) probes each protocol; 'hid' for USB HID card readers. */
  protocol?: DeviceProtocol | 'auto';
  /** Line settings for an explicit serial protocol; defaults are the protocol's usual line. */
  line?: Partial<SerialLineSettings>;
  /** With an explicit protocol: check the device answers before accepting the session (default true). */
  probe?: boolean;
}

export type SessionState = 'connected' | 'busy' | 'lost';

export interface SessionInfo {
  sessionId: string;
  path: string;
  protocol: DeviceProtocol;
  family: DeviceFamily;
  /** Null for HID. */
  line: SerialLineSettings | null;
  /** Driver variant auto-detect settled on (e.g. '7E1 parity in software'), if any. */
  variant: string | null;
  state: SessionState;
  connectedAt: string;
  identity: DeviceIdentity | null;
  /** What auto-detect tried, for the support log. */
  detection: AutoDetectAttempt[];
  /** The run in progress on this session, if any. */
  runId: string | null;
}

export interface RunInfo {
  runId: string;
  sessionId: string;
  suite: string;
  state: 'running' | 'finished';
  startedAt: string;
  result: DiagnosticRunResult | null;
}

export type DeviceServiceEvent =
  | {
      kind: 'diagnostic_progress';
      at: string;
      data: { runId: string; sessionId: string; event: DiagnosticProgressEvent };
    }
  | {
      kind: 'run_finished';
      at: string;
      data: { runId: string; sessionId: string; result: DiagnosticRunResult };
    }
  | {
      kind: 'session_lost';
      at: string;
      data: { sessionId: string; path: string; error: ReturnType<DeviceServiceError['toPayload']> };
    }
  | { kind: 'session_closed'; at: string; data: { sessionId: string; path: string } }
  /** From `startWatching`: devices plugged in or pulled out since the last poll. */
  | { kind: 'devices_changed'; at: string; data: { added: DeviceListing[]; removed: DeviceListing[] } };

export interface SerialProtocolSupport {
  protocol: 'abecs' | 'stx';
  family: DeviceFamily;
  createDriver: DriverFactory;
  /** Line settings to try in auto-detect (first one is the default for an explicit connect). */
  lineSettings: readonly SerialLineSettings[];
  /** Names a driver variant when a protocol is listed more than once; an explicit connect uses the first entry. */
  variant?: string;
}

export interface DeviceServiceOptions {
  /** Serial protocols, in auto-detect order. */
  serialProtocols: readonly SerialProtocolSupport[];
  /** Creates (does not open) a serial transport. */
  createSerialTransport: (path: string, line: SerialLineSettings) => Transport;
  /** HID card readers, if supported on this machine. */
  hid?: {
    /** `info` is what discovery reported for the path (vendor/product id pick the reader variant). */
    createTransport: (path: string, info: TransportInfo | null) => Transport;
    createDriver: DriverFactory;
    family?: DeviceFamily;
  };
  /** OS device listing (serial ports with USB ids, HID devices). */
  discover?: () => Promise<TransportInfo[]>;
  /** Bounds for auto-detect (defaults DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_DETECT_TIMEOUT_MS). */
  probeTimeoutMs?: number;
  detectTimeoutMs?: number;
  /** Suite per family (tests shorten timeouts). */
  suiteFor?: (family: DeviceFamily) => DiagnosticSuite;
  /** Finished runs kept for `getRun`. */
  keepRuns?: number;
  now?: () => Date;
}

interface Session {
  info: SessionInfo;
  transport: Transport;
  driver: DeviceDriver;
  /** Aborts the current operation (cancel, or the link was lost). */
  operation: AbortController | null;
  operationDone: Promise<unknown> | null;
  onClose: (error?: TransportError) => void;
}

interface Run {
  info: RunInfo;
  done: Promise<DiagnosticRunResult>;
}

/** A short suite used by `identify`: the same timeouts and frame capture as a full run. */
function identifySuite(full: DiagnosticSuite): DiagnosticSuite {
  return { ...full, name: `${full.name}:identify`, steps: full.steps.filter((s) => s.kind !== 'check') };
}

export class DeviceService {
  private readonly options: DeviceServiceOptions;
  private readonly addedPaths = new Set<string>();
  private readonly sessions = new Map<string, Session>();
  /** Port path → session id (or 'connecting' while a connect is in progress). */
  private readonly ports = new Map<string, string>();
  private readonly runs = new Map<string, Run>();
  private readonly listeners = new Set<(event: DeviceServiceEvent) => void>();
  /** What the last listing said about each path (kind, USB ids), for connect. */
  private readonly known = new Map<string, TransportInfo>();

  constructor(options: DeviceServiceOptions) {
    this.options = options;
  }

  // ---- events -------------------------------------------------------------------------------

  /** Subscribes to pushed events; returns the unsubscribe function. */
  subscribe(listener: (event: DeviceServiceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: DeviceServiceEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // One closed window must not stop the others (or the run) from hearing.
      }
    }
  }

  private at(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }

  // ---- devices ------------------------------------------------------------------------------

  /** Adds a path the OS listing does not show (ptys, some adapters). */
  addPath(path: string): void {
    this.addedPaths.add(path);
  }

  removePath(path: string): void {
    this.addedPaths.delete(path);
  }

  async listDevices(): Promise<DeviceListing[]> {
    let discovered: TransportInfo[] = [];
    if (this.options.discover) {
      try {
        discovered = await this.options.discover();
      } catch {
        // A failing OS listing must not hide the paths added by hand.
        discovered = [];
      }
    }
    const out: DeviceListing[] = [];
    const seen = new Set<string>();
    for (const d of discovered) {
      if (d.kind === 'memory' || seen.has(d.path)) continue;
      seen.add(d.path);
      this.known.set(d.path, d);
      out.push({
        path: d.path,
        kind: d.kind,
        source: 'discovered',
        vendorId: d.vendorId ?? null,
        productId: d.productId ?? null,
        serialNumber: d.serialNumber ?? null,
        manufacturer: d.manufacturer ?? null,
        product: d.product ?? null,
        label: vendorHint(d.vendorId),
        sessionId: this.sessionIdFor(d.path),
      });
    }
    for (const path of this.addedPaths) {
      if (seen.has(path)) continue;
      out.push({
        path,
        kind: 'serial',
        source: 'added',
        vendorId: null,
        productId: null,
        serialNumber: null,
        manufacturer: null,
        product: null,
        label: null,
        sessionId: this.sessionIdFor(path),
      });
    }
    return out;
  }

  private watchTimer: ReturnType<typeof setInterval> | null = null;
  private watched: Map<string, DeviceListing> | null = null;
  private watchPoll: Promise<void> | null = null;

  /**
   * Polls the device list and emits `devices_changed` when something is plugged in or pulled out
   * (polling works the same on every OS and for ptys). The first poll only records the baseline.
   */
  async startWatching(options: { intervalMs?: number } = {}): Promise<void> {
    if (this.watchTimer) return;
    await this.pollDevices();
    this.watchTimer = setInterval(() => void this.pollDevices(), options.intervalMs ?? 1_000);
    this.watchTimer.unref();
  }

  stopWatching(): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    this.watched = null;
  }

  /** One poll of the watcher (exposed so tests and a "refresh" button need not wait for the timer). */
  pollDevices(): Promise<void> {
    this.watchPoll ??= (async () => {
      const list = await this.listDevices();
      const next = new Map(list.map((d) => [`${d.kind}:${d.path}`, d]));
      const previous = this.watched;
      this.watched = next;
      if (previous === null) return;
      const added = [...next].filter(([k]) => !previous.has(k)).map(([, d]) => d);
      const removed = [...previous].filter(([k]) => !next.has(k)).map(([, d]) => d);
      if (added.length > 0 || removed.length > 0)
        this.emit({ kind: 'devices_changed', at: this.at(), data: { added, removed } });
    })().finally(() => {
      this.watchPoll = null;
    });
    return this.watchPoll;
  }

  private sessionIdFor(path: string): string | null {
    const id = this.ports.get(path);
    return id !== undefined && this.sessions.has(id) ? id : null;
  }

  // ---- sessions -----------------------------------------------------------------------------

  listSessions(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => ({ ...s.info }));
  }

  getSession(sessionId: string): SessionInfo {
    return { ...this.session(sessionId).info };
  }

  async connect(path: string, options: ConnectOptions = {}): Promise<SessionInfo> {
    if (this.ports.has(path)) throw new DeviceServiceError('port_in_session', path);
    this.ports.set(path, 'connecting');
    try {
      const opened = await this.openDevice(path, options);
      const sessionId = randomUUID();
      const session: Session = {
        info: {
          sessionId,
          path,
          protocol: opened.driver.protocol,
          family: opened.family,
          line: opened.line,
          variant: opened.variant,
          state: 'connected',
          connectedAt: this.at(),
          identity: null,
          detection: opened.detection,
          runId: null,
        },
        transport: opened.transport,
        driver: opened.driver,
        operation: null,
        operationDone: null,
        onClose: (error) => this.onTransportClosed(sessionId, error),
      };
      opened.transport.on('close', session.onClose);
      this.sessions.set(sessionId, session);
      this.ports.set(path, sessionId);
      if (!opened.transport.isOpen)
        this.onTransportClosed(sessionId, new TransportError('unplugged', `${path} closed while connecting`));
      return { ...session.info };
    } catch (error) {
      if (this.ports.get(path) === 'connecting') this.ports.delete(path);
      throw error instanceof DeviceServiceError
        ? error
        : error instanceof TransportError
          ? fromTransportError(error)
          : new DeviceServiceError('internal', String(error));
    }
  }

  private async openDevice(
    path: string,
    options: ConnectOptions,
  ): Promise<{
    transport: Transport;
    driver: DeviceDriver;
    family: DeviceFamily;
    line: SerialLineSettings | null;
    variant: string | null;
    detection: AutoDetectAttempt[];
  }> {
    const known = this.known.get(path) ?? null;
    // A path discovery reported as a HID device can only be a HID reader: "auto" means HID there.
    const protocol =
      options.protocol === undefined || options.protocol === 'auto'
        ? known?.kind === 'hid'
          ? 'hid'
          : 'auto'
        : options.protocol;
    if (protocol === 'hid') {
      const hid = this.options.hid;
      if (!hid)
        throw new DeviceServiceError(
          'protocol_not_recognised',
          'USB HID readers are not supported on this machine',
        );
      const transport = hid.createTransport(path, known);
      await transport.open();
      const driver = hid.createDriver(transport);
      if (options.probe !== false) await this.requireProbe(driver, transport);
      return {
        transport,
        driver,
        family: hid.family ?? driver.family,
        line: null,
        variant: null,
        detection: [],
      };
    }
    if (protocol === 'auto') {
      const result = await autoDetect({
        path,
        candidates: this.options.serialProtocols.map<ProtocolCandidate>((p) => ({ ...p })),
        createTransport: this.options.createSerialTransport,
        probeTimeoutMs: this.options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
        overallTimeoutMs: this.options.detectTimeoutMs ?? DEFAULT_DETECT_TIMEOUT_MS,
      });
      if (!result.found) {
        if (result.transportError) throw fromTransportError(result.transportError);
        throw new DeviceServiceError('protocol_not_recognised', result.message);
      }
      return {
        transport: result.transport,
        driver: result.driver,
        family: result.family,
        line: result.settings,
        variant: result.variant,
        detection: result.attempts,
      };
    }
    const support = this.options.serialProtocols.find((p) => p.protocol === protocol);
    if (!support)
      throw new DeviceServiceError('protocol_not_recognised', `protocol ${protocol} is not available`);
    // Only the settings actually given override the protocol's usual line (an IPC payload may
    // carry explicit undefineds).
    const given = Object.fromEntries(Object.entries(options.line ?? {}).filter(([, v]) => v !== undefined));
    const line: SerialLineSettings = { ...DEFAULT_SERIAL_SETTINGS, ...support.lineSettings[0], ...given };
    const transport = this.options.createSerialTransport(path, line);
    await transport.open();
    const driver = support.createDriver(transport);
    if (options.probe !== false) await this.requireProbe(driver, transport);
    return {
      transport,
      driver,
      family: support.family,
      line,
      variant: support.variant ?? null,
      detection: [],
    };
  }

  private async requireProbe(driver: DeviceDriver, transport: Transport): Promise<void> {
    const timeoutMs = this.options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    const signal = AbortSignal.timeout(timeoutMs + 250);
    const ok = await Promise.race([
      driver.probe({ signal, log: () => undefined, prompt: () => undefined }, timeoutMs).catch(() => false),
      new Promise<boolean>((resolve) =>
        signal.addEventListener('abort', () => resolve(false), { once: true }),
      ),
    ]);
    if (!ok) {
      await transport.close().catch(() => undefined);
      throw new DeviceServiceError(
        'protocol_not_recognised',
        `no ${driver.protocol} answer on ${transport.info.path}`,
      );
    }
  }

  private onTransportClosed(sessionId: string, error?: TransportError): void {
    const session = this.sessions.get(sessionId);
    if (!session || session.info.state === 'lost') return;
    if (!error) return; // closed on purpose by disconnect()
    session.info.state = 'lost';
    // Free the port at once: the technician may re-plug and connect again while we wind down.
    if (this.ports.get(session.info.path) === sessionId) this.ports.delete(session.info.path);
    session.operation?.abort(error);
    const serviceError = fromTransportError(
      error.code === 'closed' ? new TransportError('unplugged', error.message) : error,
    );
    this.emit({
      kind: 'session_lost',
      at: this.at(),
      data: { sessionId, path: session.info.path, error: serviceError.toPayload() },
    });
  }

  private session(sessionId: string): Session {
    const session = this.sessions.get(sessionId);
    if (!session) throw new DeviceServiceError('session_not_found', sessionId);
    return session;
  }

  private usableSession(sessionId: string): Session {
    const session = this.session(sessionId);
    if (session.info.state === 'lost') throw new DeviceServiceError('unplugged', session.info.path);
    if (session.info.state === 'busy') throw new DeviceServiceError('session_busy', session.info.path);
    return session;
  }

  private suiteFor(family: DeviceFamily): DiagnosticSuite {
    return (this.options.suiteFor ?? suiteForFamily)(family);
  }

  /** Opens a session on the device, reads its identity and closes it again (device back to idle). */
  async identify(sessionId: string): Promise<DeviceIdentity> {
    const session = this.usableSession(sessionId);
    const result = await this.runOn(session, identifySuite(this.suiteFor(session.info.family)), null, 'en');
    if (result.identity) {
      session.info.identity = result.identity;
      return result.identity;
    }
    if (session.info.state === 'lost') throw new DeviceServiceError('unplugged', session.info.path);
    const failed = result.steps.find((s) => s.status === 'fail');
    if (failed?.errorCode === 'DIAG-LINK-004')
      throw new DeviceServiceError('protocol_not_recognised', failed.message ?? undefined);
    throw new DeviceServiceError(
      'identify_failed',
      failed ? `${failed.id}: ${failed.errorCode ?? ''} ${failed.message ?? ''}`.trim() : undefined,
    );
  }

  /** Starts the family's full suite; progress arrives as `diagnostic_progress` events. */
  runSuite(sessionId: string, options: { language?: 'en' | 'fa' } = {}): { runId: string } {
    const session = this.usableSession(sessionId);
    const runId = randomUUID();
    const suite = this.suiteFor(session.info.family);
    const info: RunInfo = {
      runId,
      sessionId,
      suite: suite.name,
      state: 'running',
      startedAt: this.at(),
      result: null,
    };
    const done = this.runOn(session, suite, runId, options.language ?? 'en').then((result) => {
      info.state = 'finished';
      info.result = result;
      if (result.identity) session.info.identity = result.identity;
      this.emit({ kind: 'run_finished', at: this.at(), data: { runId, sessionId, result } });
      this.pruneRuns();
      return result;
    });
    // Nobody may await a run (a closed window); its failure must not become an unhandled rejection.
    done.catch(() => undefined);
    this.runs.set(runId, { info, done });
    return { runId };
  }

  private runOn(
    session: Session,
    suite: DiagnosticSuite,
    runId: string | null,
    language: 'en' | 'fa',
  ): Promise<DiagnosticRunResult> {
    const operation = new AbortController();
    session.operation = operation;
    session.info.state = 'busy';
    session.info.runId = runId;
    const done = runDiagnostics({
      driver: session.driver,
      suite,
      port: session.info.path,
      signal: operation.signal,
      language,
      ...(this.options.now ? { clock: this.options.now } : {}),
      onProgress: (event) => {
        if (runId !== null)
          this.emit({
            kind: 'diagnostic_progress',
            at: this.at(),
            data: { runId, sessionId: session.info.sessionId, event },
          });
      },
    }).finally(() => {
      session.operation = null;
      session.operationDone = null;
      session.info.runId = null;
      if (session.info.state === 'busy') session.info.state = 'connected';
    });
    session.operationDone = done;
    return done;
  }

  private pruneRuns(): void {
    const keep = this.options.keepRuns ?? 50;
    const finished = [...this.runs.values()].filter((r) => r.info.state === 'finished');
    for (const r of finished.slice(0, Math.max(0, finished.length - keep))) this.runs.delete(r.info.runId);
  }

  getRun(runId: string): RunInfo {
    const run = this.runs.get(runId);
    if (!run) throw new DeviceServiceError('run_not_found', runId);
    return { ...run.info };
  }

  /** Resolves with the run's result once it has finished. */
  async waitForRun(runId: string): Promise<DiagnosticRunResult> {
    const run = this.runs.get(runId);
    if (!run) throw new DeviceServiceError('run_not_found', runId);
    return run.done;
  }

  /** Cancels a run; resolves once it has stopped (the device is told to abort its command). */
  async cancel(runId: string): Promise<DiagnosticRunResult> {
    const run = this.runs.get(runId);
    if (!run) throw new DeviceServiceError('run_not_found', runId);
    if (run.info.state === 'running') this.sessions.get(run.info.sessionId)?.operation?.abort();
    return run.done;
  }

  /**
   * After "device unplugged": waits for the device to be back on the same port and opens a new
   * session on it (the protocol is detected again, so a 7E1 unit or a swapped PinPad is found as it
   * is now). Retries while the port is missing, busy or not yet answering (a USB device re-appears
   * before udev has set its permissions, a PinPad takes seconds to boot). The lost session is
   * closed once the new one is open.
   */
  async reconnect(
    sessionId: string,
    options: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {},
  ): Promise<SessionInfo> {
    const old = this.session(sessionId);
    if (old.info.state !== 'lost') throw new DeviceServiceError('still_connected', old.info.path);
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const connectOptions: ConnectOptions =
      old.info.protocol === 'hid' ? { protocol: 'hid' } : { protocol: 'auto' };
    let lastError: unknown;
    for (;;) {
      if (options.signal?.aborted) throw new DeviceServiceError('unplugged', 'reconnect cancelled');
      try {
        const session = await this.connect(old.info.path, connectOptions);
        await this.disconnect(sessionId).catch(() => undefined);
        return session;
      } catch (error) {
        lastError = error;
        const code = error instanceof DeviceServiceError ? error.code : 'internal';
        const retryable = [
          'not_found',
          'unplugged',
          'port_busy',
          'permission_denied',
          'protocol_not_recognised',
          'io_error',
        ].includes(code);
        if (!retryable || Date.now() >= deadline) break;
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now()))),
      );
    }
    throw lastError instanceof DeviceServiceError
      ? lastError
      : new DeviceServiceError('unplugged', String(lastError));
  }

  /** Ends a session: cancels what runs on it and releases the port. Safe to call on a lost session. */
  async disconnect(sessionId: string): Promise<void> {
    const session = this.session(sessionId);
    session.operation?.abort();
    await session.operationDone?.catch(() => undefined);
    session.transport.off('close', session.onClose);
    this.sessions.delete(sessionId);
    if (this.ports.get(session.info.path) === sessionId) this.ports.delete(session.info.path);
    try {
      await session.transport.close();
    } catch {
      // Already gone (unplugged): nothing to release.
    }
    this.emit({ kind: 'session_closed', at: this.at(), data: { sessionId, path: session.info.path } });
  }

  /** Disconnects everything (app quitting). */
  async shutdown(): Promise<void> {
    this.stopWatching();
    await Promise.all([...this.sessions.keys()].map((id) => this.disconnect(id).catch(() => undefined)));
  }
}
