import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { DriverError, type DriverContext, type FrameLogEntry } from './driver.ts';
import {
  HidCardReaderDriver,
  createHidReaderTransport,
  swipeVerdict,
  variantForVendor,
} from './hid-card-reader.ts';
import { HidReaderSimulator, loadHidReaderScenario } from '../simulators/hid-reader-sim.ts';
import type { SimulatorFault } from '../simulators/simulator.ts';
import { HidTransport, type HidDeviceHandle } from '../transport/hid-transport.ts';
import { decodeSwipeReport, encodeSwipeReport } from '../framing/magtek-swipe.ts';
import { runDiagnostics } from '../diagnostics/runner.ts';
import { HID_CARD_READER_SUITE } from '../diagnostics/suites.ts';

const T2 = ';4111111111111111=29121010000000000000?';

function context(onPrompt: () => void = () => undefined, signal = new AbortController().signal) {
  const frames: FrameLogEntry[] = [];
  const prompts: string[] = [];
  const ctx: DriverContext = {
    signal,
    log: (e) => frames.push(e),
    prompt: (m) => {
      prompts.push(m.en);
      onPrompt();
    },
  };
  return { ctx, frames, prompts };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function reader(name: string, faults: SimulatorFault[] = []) {
  const sim = new HidReaderSimulator(await loadHidReaderScenario(name), { slowExtraMs: 3000 });
  sim.setFaults(faults);
  const driver = new HidCardReaderDriver(sim, { commandTimeoutMs: 500, swipeTimeoutMs: 2000 });
  cleanups.push(() => driver.close(context().ctx));
  return { sim, driver };
}

describe('HID card reader driver against the simulated reader', () => {
  it('MagTek-style: handshake, identity from GET_PROPERTY, swipe with a verdict per track', async () => {
    const { sim, driver } = await reader('magtek-healthy');
    expect(driver.variant).toBe('magtek');
    expect(driver.checks).toEqual(['swipe']);
    const { ctx, frames, prompts } = context(() => sim.swipe());
    expect(await driver.probe(ctx, 1000)).toBe(true);
    await driver.open(ctx);
    const identity = await driver.identify(ctx);
    expect(identity).toMatchObject({
      family: 'hid_card_reader',
      manufacturer: 'Mag-Tek',
      serialNumber: 'B41C2D0',
      firmwareVersion: 'D01',
      extra: { softwarePartNumber: '21042812', vendorId: '0801' },
    });
    const result = await driver.runCheck('swipe', ctx);
    expect(prompts).toHaveLength(1);
    expect(result.status).toBe('pass');
    expect(result.values).toMatchObject({
      swiped: true,
      encodeType: 'iso_aba',
      maskedPan: '411111******1111',
      tracks: [
        { track: 1, verdict: 'ok' },
        { track: 2, verdict: 'ok', length: T2.length },
        { track: 3, verdict: 'empty' },
      ],
    });
    // card data never reaches the frame log or the values
    const everything = JSON.stringify({ frames, values: result.values });
    expect(everything).not.toContain('4111111111111111');
    expect(everything).not.toContain(Buffer.from('4111111111111111').toString('hex'));
    expect(sim.received).toEqual(['cmd-00', 'cmd-00', 'cmd-00', 'cmd-00']);
  });

  it('a failing read head: every track in error → fail DIAG-CARD-001', async () => {
    const { sim, driver } = await reader('magtek-healthy', ['card_reader_failure']);
    const { ctx } = context(() => sim.swipe());
    await driver.open(ctx);
    const result = await driver.runCheck('swipe', ctx);
    expect(result).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-CARD-001',
      values: { encodeType: 'undetermined', maskedPan: null },
    });
  });

  it('track 1 unreadable but track 2 fine → warn', async () => {
    const { sim, driver } = await reader('magtek-healthy', ['bad_checksum']);
    const { ctx } = context(() => sim.swipe());
    await driver.open(ctx);
    expect(await driver.runCheck('swipe', ctx)).toMatchObject({ status: 'warn', errorCode: 'DIAG-CARD-001' });
  });

  it('junk reports before the swipe are ignored and counted', async () => {
    const { sim, driver } = await reader('magtek-healthy', ['garbage']);
    const { ctx } = context(() => sim.swipe());
    await driver.open(ctx);
    expect(await driver.runCheck('swipe', ctx)).toMatchObject({
      status: 'pass',
      values: { ignoredReports: 1 },
    });
  });

  it('no swipe in time → fail with DIAG-TIME-001 and a sentence saying what to do', async () => {
    const { driver } = await reader('magtek-healthy');
    const { ctx } = context();
    await driver.open(ctx);
    const result = await driver.runCheck('swipe', ctx);
    expect(result).toMatchObject({ status: 'fail', errorCode: 'DIAG-TIME-001', values: { swiped: false } });
    expect(result.message).toMatch(/swipe a card/);
  });

  it('unplugged during the swipe test → DIAG-LINK-003 at once', async () => {
    const { sim, driver } = await reader('magtek-healthy', ['unplug_mid_command']);
    const { ctx } = context(() => sim.swipe());
    await driver.open(ctx).catch(() => undefined);
    sim.setFaults([]);
    // the reader disappeared on the first command: reopen after replug, then pull it mid-swipe
    sim.replug();
    await driver.open(ctx);
    sim.setFaults(['unplug_mid_command']);
    const error = (await driver.runCheck('swipe', ctx).catch((e: unknown) => e)) as DriverError;
    expect(error).toBeInstanceOf(DriverError);
    expect(error.code).toBe('DIAG-LINK-003');
  });

  it('cancel() ends a swipe wait', async () => {
    const { driver } = await reader('magtek-healthy');
    const { ctx } = context(() => setTimeout(() => void driver.cancel(), 20));
    await driver.open(ctx);
    await expect(driver.runCheck('swipe', ctx)).rejects.toThrow(/cancelled/);
    // the reader is usable again afterwards
    expect((await driver.identify(context().ctx)).serialNumber).toBe('B41C2D0');
  });

  it('a reader that does not answer its command: probe false, open DIAG-LINK-004', async () => {
    const { driver } = await reader('magtek-healthy', ['nak_storm']);
    expect(await driver.probe(context().ctx, 500)).toBe(false);
    await expect(driver.open(context().ctx)).rejects.toMatchObject({ code: 'DIAG-LINK-004' });
  });

  it('IDTech-style: ping handshake over ViVOtech2, firmware version, swipe and tap via Activate Transaction', async () => {
    const { sim, driver } = await reader('idtech-healthy');
    expect(driver.variant).toBe('idtech');
    let present: () => void = () => sim.swipe();
    const { ctx, frames, prompts } = context(() => setTimeout(() => present(), 20));
    expect(await driver.probe(ctx, 1000)).toBe(true);
    await driver.open(ctx);
    expect(frames.find((f) => f.direction === 'tx')?.hex).toBe('5669564f74656368320018010000b3cd');
    const identity = await driver.identify(ctx);
    expect(identity).toMatchObject({
      firmwareVersion: 'NEO v1.01.151',
      manufacturer: 'ID TECH',
      serialNumber: 'IDT0042',
    });
    expect(driver.checks).toEqual(['swipe', 'contactless']);

    const swipe = await driver.runCheck('swipe', ctx);
    expect(swipe).toMatchObject({
      status: 'pass',
      values: {
        readVia: 'swipe',
        entryMode: '90',
        maskedPan: '411111******1111',
        tracks: [{ verdict: 'ok' }, { verdict: 'ok' }, { verdict: 'empty' }],
      },
    });
    present = () => sim.tap();
    const tap = await driver.runCheck('contactless', ctx);
    expect(tap).toMatchObject({
      status: 'pass',
      values: { readVia: 'contactless', track2Present: true, maskedPan: '411111******1111' },
    });
    expect(prompts).toHaveLength(2);
    expect(sim.received).toEqual(['18-01', '18-01', '29-00', '02-01', '02-01']);
    // the transaction answers (card data) are cut to their header in the frame log
    expect(JSON.stringify(frames)).not.toContain(Buffer.from('4111111111111111').toString('hex'));
  });

  it('IDTech-style card tests: wrong kind of read warns, nothing presented fails, reader failure fails', async () => {
    const { sim, driver } = await reader('idtech-healthy');
    const { ctx } = context(() => setTimeout(() => sim.swipe(), 20));
    await driver.open(ctx);
    expect(await driver.runCheck('contactless', ctx)).toMatchObject({
      status: 'warn',
      values: { readVia: 'swipe' },
    });

    const idle = context();
    await expect(driver.runCheck('contactless', idle.ctx)).resolves.toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-CARD-002',
      values: { presented: false },
    });

    sim.setFaults(['card_reader_failure']);
    const failing = context(() => setTimeout(() => sim.swipe(), 20));
    expect(await driver.runCheck('swipe', failing.ctx)).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-CARD-001',
      values: { readerStatus: 'Failed / NAK' },
    });
  });

  it('IDTech-style cancel stops the reader waiting (Cancel Transaction 05-01)', async () => {
    const { sim, driver } = await reader('idtech-healthy');
    const { ctx } = context(() => setTimeout(() => void driver.cancel(), 20));
    await driver.open(ctx);
    await expect(driver.runCheck('swipe', ctx)).rejects.toThrow(/cancelled/);
    await new Promise((r) => setTimeout(r, 30));
    expect(sim.received.at(-1)).toBe('05-01');
  });

  it('IDTech-style faults: bad CRC → DIAG-LINK-002, silence → DIAG-LINK-001, junk reports tolerated', async () => {
    const bad = await reader('idtech-healthy', ['bad_checksum']);
    await expect(bad.driver.open(context().ctx)).rejects.toMatchObject({ code: 'DIAG-LINK-002' });
    const silent = await reader('idtech-healthy', ['missing_ack']);
    await expect(silent.driver.open(context().ctx)).rejects.toMatchObject({ code: 'DIAG-LINK-001' });
    const noisy = await reader('idtech-healthy', ['garbage']);
    await noisy.driver.open(context().ctx);
    expect((await noisy.driver.identify(context().ctx)).firmwareVersion).toBe('NEO v1.01.151');
  });

  it('works through HidTransport (report ids added and removed) with a node-hid device double', async () => {
    // An IDTech-style device double behind the real HidTransport: it sees exactly what hidapi
    // would (report id 0x01 first, 64-byte reports) and answers with numbered input reports.
    const scenario = await loadHidReaderScenario('idtech-healthy');
    const inner = new HidReaderSimulator(scenario);
    await inner.open();
    class Device extends EventEmitter implements HidDeviceHandle {
      readonly reports: Buffer[] = [];
      constructor() {
        super();
        inner.on('data', (body) => this.emit('data', Buffer.from([0x01, ...body])));
      }
      async write(values: number[] | Buffer): Promise<number> {
        const b = Buffer.from(values);
        this.reports.push(b);
        if (b[0] !== 0x01 || b.length !== 64) throw new Error('bad report');
        await inner.write(b.subarray(1));
        return b.length;
      }
      async sendFeatureReport(): Promise<number> {
        return 0;
      }
      async getFeatureReport(): Promise<Buffer> {
        return Buffer.alloc(0);
      }
      async close(): Promise<void> {}
    }
    const device = new Device();
    const transport = createHidReaderTransport(
      '/dev/hidraw7',
      { vendorId: '0acd', productId: '3530', manufacturer: 'ID TECH' },
      { openDevice: async () => device },
    );
    expect(transport).toBeInstanceOf(HidTransport);
    const driver = new HidCardReaderDriver(transport);
    expect(driver.variant).toBe('idtech');
    await driver.open(context().ctx);
    expect((await driver.identify(context().ctx)).firmwareVersion).toBe('NEO v1.01.151');
    expect(device.reports.every((r) => r.length === 64 && r[0] === 0x01)).toBe(true);
    await driver.close(context().ctx);
    await inner.close();
  });

  it('the HID suite through the runner: the prompt reaches the technician, the swipe passes, tap is not supported', async () => {
    const { sim, driver } = await reader('magtek-healthy');
    const prompts: string[] = [];
    const result = await runDiagnostics({
      driver,
      suite: HID_CARD_READER_SUITE,
      port: sim.info.path,
      onProgress: (event) => {
        if (event.type === 'prompt') {
          prompts.push(event.message.fa);
          sim.swipe();
        }
      },
    });
    expect(prompts).toHaveLength(1);
    expect(result.identity).toMatchObject({ serialNumber: 'B41C2D0', firmwareVersion: 'D01' });
    expect(result.steps.find((s) => s.id === 'swipe')).toMatchObject({ status: 'pass' });
    expect(result.steps.find((s) => s.id === 'contactless')?.status).toBe('not_supported');
    expect(JSON.stringify(result)).not.toContain('4111111111111111');
  });

  it('verdict rules: track 2 is what payments need', () => {
    const swipe = (t1: string, t2: string, e1 = false, e2 = false) => {
      const d = decodeSwipeReport(
        encodeSwipeReport({
          tracks: [{ data: t1, decodeError: e1 }, { data: t2, decodeError: e2 }, { data: '' }],
        }),
      );
      if (!d.ok) throw new Error('bad fixture');
      return swipeVerdict(d.swipe).status;
    };
    expect(swipe('%B4111^A/B^29?', T2)).toBe('pass');
    expect(swipe('', T2)).toBe('pass');
    expect(swipe('%B4111^A/B^29?', '', false, true)).toBe('fail');
    expect(swipe('', '')).toBe('fail');
    expect(swipe('garbled', T2)).toBe('warn');
  });

  it('maps USB vendor ids to reader styles', () => {
    expect(variantForVendor('0801')).toBe('magtek');
    expect(variantForVendor('0ACD')).toBe('idtech');
    expect(variantForVendor('1234')).toBeNull();
    expect(variantForVendor(undefined)).toBeNull();
  });
});
