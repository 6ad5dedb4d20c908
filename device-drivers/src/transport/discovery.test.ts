import { afterEach, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPtyPair, type PtyPair } from '../testing/pty-pair.ts';
import {
  DeviceWatcher,
  discoverDevices,
  reconnect,
  sameDevice,
  vendorHint,
  waitForDevice,
} from './discovery.ts';
import { SerialTransport } from './serial-transport.ts';
import type { Transport, TransportInfo } from './transport.ts';

const pairs: PtyPair[] = [];
const opened: Transport[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
  await Promise.all(pairs.splice(0).map((p) => p.stop()));
});
const link = () => join(tmpdir(), `ttyEMDAD-disc-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);

describe('discovery', () => {
  it('merges OS serial ports, HID devices and existing extra paths', async () => {
    const pair = await startPtyPair({ link: link() });
    pairs.push(pair);
    const devices = await discoverDevices({
      extraPaths: [pair.hostPath, '/dev/ttyEMDAD-missing'],
      listSerial: async () => [
        { kind: 'serial', path: '/dev/ttyUSB0', vendorId: '0b00', productId: '0054', serialNumber: 'A1' },
      ],
      listHid: async () => [{ kind: 'hid', path: '/dev/hidraw3', vendorId: '0801', productId: '0011' }],
    });
    expect(devices.map((d) => d.path)).toEqual(['/dev/ttyUSB0', pair.hostPath, '/dev/hidraw3']);
    expect(vendorHint(devices[0]?.vendorId)).toBe('Ingenico');
  });

  it('lists real serial ports without throwing (ptys are not among them)', async () => {
    const devices = await discoverDevices({ hid: false });
    expect(Array.isArray(devices)).toBe(true);
    expect(devices.every((d) => !d.path.startsWith('/dev/pts/'))).toBe(true);
  });

  it('the watcher reports a port appearing and disappearing', async () => {
    const path = link();
    const watcher = new DeviceWatcher({
      extraPaths: [path],
      hid: false,
      listSerial: async () => [],
      intervalMs: 50,
    });
    const events: string[] = [];
    watcher.on('added', (d) => events.push(`added ${d.path}`));
    watcher.on('removed', (d) => events.push(`removed ${d.path}`));
    await watcher.start();
    expect(events).toEqual([]);
    const pair = await startPtyPair({ link: path });
    pairs.push(pair);
    await watcher.poll();
    expect(events).toEqual([`added ${path}`]);
    await pair.stop();
    await watcher.poll();
    expect(events).toEqual([`added ${path}`, `removed ${path}`]);
    watcher.stop();
  });

  it('matches a re-enumerated USB device by vendor, product and serial number', async () => {
    const known: TransportInfo = {
      kind: 'serial',
      path: '/dev/ttyACM0',
      vendorId: '0b00',
      productId: '0054',
      serialNumber: '5C123456',
    };
    expect(sameDevice(known, { ...known, path: '/dev/ttyACM1' })).toBe(true);
    expect(sameDevice(known, { ...known, serialNumber: 'OTHER' })).toBe(false);
    let calls = 0;
    const back = await waitForDevice(known, {
      hid: false,
      intervalMs: 10,
      listSerial: async () => (++calls < 3 ? [] : [{ ...known, path: '/dev/ttyACM1' }]),
    });
    expect(back.path).toBe('/dev/ttyACM1');
  });

  it('waitForDevice gives up with a sentence after its timeout', async () => {
    await expect(
      waitForDevice(
        { kind: 'serial', path: '/dev/ttyEMDAD-never' },
        { hid: false, listSerial: async () => [], timeoutMs: 100, intervalMs: 20 },
      ),
    ).rejects.toThrow(/did not come back/);
  });

  it('reconnect reopens a pty port once it is back', async () => {
    const path = link();
    const first = await startPtyPair({ link: path });
    pairs.push(first);
    await first.stop();
    const pending = reconnect({ kind: 'serial', path }, (info) => new SerialTransport({ path: info.path }), {
      hid: false,
      listSerial: async () => [],
      intervalMs: 50,
      timeoutMs: 10_000,
    });
    setTimeout(() => {
      void startPtyPair({ link: path }).then((p) => pairs.push(p));
    }, 200);
    const transport = await pending;
    opened.push(transport);
    expect(transport.isOpen).toBe(true);
  });
});
