/**
 * The whole browser-mode device path on real parts: a WebSocket client (as the renderer's) →
 * the agent → the handler map → the real device service (`createDeviceService`: serialport,
 * auto-detect, drivers) → a socat pty pair → the PP791 simulator on the far end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  DEVICE_CHANNELS,
  type AgentServerMessage,
  type DeviceChannel,
  type DeviceEvent,
  type DeviceResponses,
} from '@emdad/domain';
import { createDeviceService } from '@emdad/device-drivers/service/default-service';
import { Pp791Simulator, loadPp791Scenario } from '@emdad/device-drivers/simulators/pp791-sim';
import { SerialTransport } from '@emdad/device-drivers/transport/serial-transport';
import { startPtyPair } from '@emdad/device-drivers/testing/pty-pair';
import { startDeviceAgent } from './device-agent.ts';

const ORIGIN = 'http://127.0.0.1:8787';
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0)
    await cleanups
      .pop()?.()
      .catch(() => undefined);
});

/** A minimal client of the agent protocol: requests by id, events collected. */
async function client(url: string, token: string) {
  const ws = new WebSocket(`${url}/?token=${token}`, { origin: ORIGIN });
  cleanups.push(async () => ws.terminate());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const events: DeviceEvent[] = [];
  const eventWaiters: { test: (e: DeviceEvent) => boolean; resolve: (e: DeviceEvent) => void }[] = [];
  const pending = new Map<number, (message: AgentServerMessage) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as AgentServerMessage;
    if ('type' in message) {
      events.push(message.event);
      for (const waiter of [...eventWaiters]) {
        if (waiter.test(message.event)) {
          eventWaiters.splice(eventWaiters.indexOf(waiter), 1);
          waiter.resolve(message.event);
        }
      }
    } else pending.get(message.id)?.(message);
  });
  let nextId = 1;
  return {
    events,
    async call<C extends DeviceChannel>(channel: C, payload: unknown): Promise<DeviceResponses[C]> {
      const id = nextId++;
      const answer = await new Promise<AgentServerMessage>((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, channel, payload }));
      });
      if (!('result' in answer)) throw new Error('not an answer');
      if (!answer.result.ok)
        throw new Error(`${channel}: ${answer.result.error.code} ${answer.result.error.message}`);
      return answer.result.value as DeviceResponses[C];
    },
    async raw(channel: string, payload: unknown) {
      const id = nextId++;
      return new Promise<AgentServerMessage>((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, channel, payload }));
      });
    },
    waitForEvent(test: (e: DeviceEvent) => boolean): Promise<DeviceEvent> {
      const seen = events.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => eventWaiters.push({ test, resolve }));
    },
  };
}

describe.skipIf(!hasSocat)('device agent over a real pty with the PP791 simulator', () => {
  it('lists, connects by auto-detect, runs the suite with progress events, disconnects, and reconnects to identify', async () => {
    const pair = await startPtyPair();
    cleanups.push(() => pair.stop());
    const deviceEnd = new SerialTransport({ path: pair.devicePath, baudRate: 19200 });
    await deviceEnd.open();
    const simulator = new Pp791Simulator(await loadPp791Scenario('healthy'), { resendAfterMs: 300 });
    simulator.attach(deviceEnd);
    cleanups.push(async () => {
      simulator.detach();
      await deviceEnd.close();
    });

    const { agent, close } = await startDeviceAgent(createDeviceService({ discover: async () => [] }), {
      allowedOrigins: [ORIGIN],
    });
    cleanups.push(close);
    const c = await client(agent.url, agent.token);

    expect(await c.call(DEVICE_CHANNELS.addPath, { path: pair.hostPath })).toBeNull();
    const listed = await c.call(DEVICE_CHANNELS.listDevices, {});
    expect(listed).toEqual([
      expect.objectContaining({ path: pair.hostPath, source: 'added', sessionId: null }),
    ]);

    const session = await c.call(DEVICE_CHANNELS.connect, { path: pair.hostPath });
    expect(session).toMatchObject({
      path: pair.hostPath,
      protocol: 'stx',
      family: 'pp791_terminal',
      state: 'connected',
    });

    // A second connect to the same port is refused with the service's sentence.
    const again = await c.raw(DEVICE_CHANNELS.connect, { path: pair.hostPath });
    expect(again).toMatchObject({
      result: {
        ok: false,
        error: { code: 'port_in_session', sentence: { fa: expect.any(String), en: expect.any(String) } },
      },
    });

    const { runId } = await c.call(DEVICE_CHANNELS.runSuite, {
      sessionId: session.sessionId,
      language: 'fa',
    });
    const finished = await c.waitForEvent((e) => e.kind === 'run_finished' && e.data.runId === runId);
    expect(finished.kind === 'run_finished' && finished.data.result.verdict).toBe('healthy');
    expect(finished.kind === 'run_finished' && finished.data.result.identity?.serialNumber).toBe(
      '791A23004512',
    );
    const progress = c.events.filter((e) => e.kind === 'diagnostic_progress' && e.data.runId === runId);
    expect(progress.map((e) => e.kind === 'diagnostic_progress' && e.data.event.type)).toEqual(
      expect.arrayContaining(['run_started', 'step_started', 'step_finished', 'run_finished']),
    );
    expect(await c.call(DEVICE_CHANNELS.getRun, { runId })).toMatchObject({
      runId,
      state: 'finished',
      result: { verdict: 'healthy' },
    });

    expect(await c.call(DEVICE_CHANNELS.disconnect, { sessionId: session.sessionId })).toBeNull();
    await c.waitForEvent((e) => e.kind === 'session_closed' && e.data.sessionId === session.sessionId);
    expect(await c.call(DEVICE_CHANNELS.listSessions, {})).toEqual([]);

    // The port was released: a new session on it identifies the device.
    const second = await c.call(DEVICE_CHANNELS.connect, { path: pair.hostPath, protocol: 'stx' });
    expect((await c.call(DEVICE_CHANNELS.identify, { sessionId: second.sessionId })).serialNumber).toBe(
      '791A23004512',
    );
    expect(await c.call(DEVICE_CHANNELS.disconnect, { sessionId: second.sessionId })).toBeNull();
    expect(await c.call(DEVICE_CHANNELS.listSessions, {})).toEqual([]);
  }, 60_000);

  it('finds the ABECS PinPad that `npm start` runs (simulator process on a pty link), identifies it and runs its suite', async () => {
    const link = path.join(mkdtempSync(path.join(tmpdir(), 'emdad-agent-')), 'ttyPINPAD');
    const simulator = spawn(
      process.execPath,
      ['--import', 'tsx', 'device-drivers/src/simulators/cli.ts', '--device', 'abecs', '--link', link],
      {
        cwd: repositoryRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    cleanups.push(async () => {
      if (simulator.exitCode === null) {
        const exited = new Promise((resolve) => simulator.once('exit', resolve));
        simulator.kill('SIGTERM');
        await exited;
      }
    });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: simulator.stdout! }).on('line', (line) => {
        if (line.startsWith('READY ')) resolve();
      });
      simulator.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    });

    const service = createDeviceService({ discover: async () => [] });
    service.addPath(link);
    const { agent, close } = await startDeviceAgent(service, { allowedOrigins: [ORIGIN] });
    cleanups.push(close);
    const c = await client(agent.url, agent.token);
    const session = await c.call(DEVICE_CHANNELS.connect, { path: link });
    expect(session).toMatchObject({ protocol: 'abecs', family: 'abecs_pinpad' });
    const identity = await c.call(DEVICE_CHANNELS.identify, { sessionId: session.sessionId });
    expect(identity).toMatchObject({ family: 'abecs_pinpad', serialNumber: expect.any(String) });
    const { runId } = await c.call(DEVICE_CHANNELS.runSuite, { sessionId: session.sessionId });
    const finished = await c.waitForEvent((e) => e.kind === 'run_finished' && e.data.runId === runId);
    if (finished.kind !== 'run_finished') throw new Error('unreachable');
    expect(finished.data.result.identity?.family).toBe('abecs_pinpad');
    expect(finished.data.result.identity?.serialNumber).toBe(identity.serialNumber);
    expect(finished.data.result.verdict).toBe('healthy');
    expect(finished.data.result.steps.find((s) => s.id === 'open')?.status).toBe('pass');
    expect(
      c.events.some((e) => e.kind === 'diagnostic_progress' && e.data.event.type === 'step_finished'),
    ).toBe(true);
    await c.call(DEVICE_CHANNELS.disconnect, { sessionId: session.sessionId });
  }, 120_000);

  it('reconnects a lost session once the device is back on its port (device:reconnect)', async () => {
    const link = path.join(mkdtempSync(path.join(tmpdir(), 'emdad-agent-')), 'ttyPP791');
    /** Plugs the simulated terminal in at `link`; resolves with the function that pulls it out. */
    const plugIn = async (): Promise<() => Promise<void>> => {
      const pair = await startPtyPair({ link });
      const deviceEnd = new SerialTransport({ path: pair.devicePath, baudRate: 19200 });
      await deviceEnd.open();
      const simulator = new Pp791Simulator(await loadPp791Scenario('healthy'), { resendAfterMs: 300 });
      simulator.attach(deviceEnd);
      const pullOut = async () => {
        simulator.detach();
        await deviceEnd.close().catch(() => undefined);
        await pair.stop();
      };
      cleanups.push(pullOut);
      return pullOut;
    };
    const pullOut = await plugIn();

    const { agent, close } = await startDeviceAgent(createDeviceService({ discover: async () => [] }), {
      allowedOrigins: [ORIGIN],
    });
    cleanups.push(close);
    const c = await client(agent.url, agent.token);
    const session = await c.call(DEVICE_CHANNELS.connect, { path: link });
    expect(session).toMatchObject({ protocol: 'stx', state: 'connected' });

    // Still connected: nothing to reconnect, and the technician is told so in words.
    expect(await c.raw(DEVICE_CHANNELS.reconnect, { sessionId: session.sessionId })).toMatchObject({
      result: {
        ok: false,
        error: { code: 'still_connected', sentence: { en: expect.any(String), fa: expect.any(String) } },
      },
    });

    await pullOut();
    const lost = await c.waitForEvent(
      (e) => e.kind === 'session_lost' && e.data.sessionId === session.sessionId,
    );
    expect(lost.kind === 'session_lost' && lost.data.error.code).toBe('unplugged');

    // The technician asks to reconnect while the cable is still out; the device comes back later.
    const reconnecting = c.call(DEVICE_CHANNELS.reconnect, {
      sessionId: session.sessionId,
      timeoutMs: 30_000,
    });
    await plugIn();
    const again = await reconnecting;
    expect(again).toMatchObject({
      path: link,
      protocol: 'stx',
      family: 'pp791_terminal',
      state: 'connected',
    });
    expect(again.sessionId).not.toBe(session.sessionId);
    expect((await c.call(DEVICE_CHANNELS.listSessions, {})).map((s) => s.sessionId)).toEqual([
      again.sessionId,
    ]);
    expect((await c.call(DEVICE_CHANNELS.identify, { sessionId: again.sessionId })).serialNumber).toBe(
      '791A23004512',
    );
    await c.call(DEVICE_CHANNELS.disconnect, { sessionId: again.sessionId });
  }, 60_000);

  it('reports a port nobody answers on as protocol not recognised, in words, within bounded time', async () => {
    const pair = await startPtyPair(); // nothing on the far end
    cleanups.push(() => pair.stop());
    const { agent, close } = await startDeviceAgent(
      createDeviceService({ discover: async () => [], probeTimeoutMs: 300, detectTimeoutMs: 8000 }),
      { allowedOrigins: [ORIGIN] },
    );
    cleanups.push(close);
    const c = await client(agent.url, agent.token);
    const answer = await c.raw(DEVICE_CHANNELS.connect, { path: pair.hostPath });
    expect(answer).toMatchObject({
      result: { ok: false, error: { code: 'protocol_not_recognised', diagnosticCode: 'DIAG-LINK-004' } },
    });
  }, 60_000);

  it('refuses a path with a parent segment before the service sees it', async () => {
    const { agent, close } = await startDeviceAgent(createDeviceService({ discover: async () => [] }), {
      allowedOrigins: [ORIGIN],
    });
    cleanups.push(close);
    const c = await client(agent.url, agent.token);
    expect(await c.raw(DEVICE_CHANNELS.connect, { path: '/dev/../etc/passwd' })).toMatchObject({
      result: { ok: false, error: { code: 'bad_request' } },
    });
    expect(await c.raw(DEVICE_CHANNELS.identify, { sessionId: 'no-such-session' })).toMatchObject({
      result: { ok: false, error: { code: 'session_not_found' } },
    });
  });
});
