import { afterEach, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPtyPair, type PtyPair } from '../testing/pty-pair.ts';
import { SerialTransport, classifySerialError, serialWireTimeMs } from './serial-transport.ts';
import type { TransportError } from './transport.ts';

const pairs: PtyPair[] = [];
const transports: SerialTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(pairs.splice(0).map((p) => p.stop()));
});

async function pair(link?: string): Promise<PtyPair> {
  const p = await startPtyPair(link ? { link } : {});
  pairs.push(p);
  return p;
}
function serial(path: string): SerialTransport {
  const t = new SerialTransport({ path, baudRate: 115200 });
  transports.push(t);
  return t;
}
const nextData = (t: SerialTransport) => new Promise<Uint8Array>((resolve) => t.on('data', resolve));

describe('SerialTransport over a socat pty pair', () => {
  it('carries bytes both ways', async () => {
    const p = await pair();
    const host = serial(p.hostPath);
    const device = serial(p.devicePath);
    await host.open();
    await device.open();
    const got = nextData(device);
    await host.write(Uint8Array.of(0x16, 0x4f, 0x50, 0x4e, 0x17, 0xa8, 0xa9));
    expect(Buffer.from(await got).toString('hex')).toBe('164f504e17a8a9');
  });

  it('reports a second open of the same port as port_busy', async () => {
    const p = await pair();
    await serial(p.hostPath).open();
    await expect(serial(p.hostPath).open()).rejects.toMatchObject({ code: 'port_busy' });
  });

  it('reports a missing port as not_found', async () => {
    await expect(serial('/dev/ttyEMDAD-does-not-exist').open()).rejects.toMatchObject({ code: 'not_found' });
  });

  it('reports the far end going away as unplugged, and the same path opens again once it is back', async () => {
    const link = join(tmpdir(), `ttyEMDAD-test-${process.pid}`);
    const first = await pair(link);
    const host = serial(link);
    await host.open();
    const closed = new Promise<TransportError | undefined>((resolve) => host.on('close', resolve));
    await first.stop();
    const error = await closed;
    expect(error?.code).toBe('unplugged');
    expect(host.isOpen).toBe(false);
    await expect(host.write(Uint8Array.of(1))).rejects.toMatchObject({ code: 'closed' });

    const second = await pair(link);
    await host.open();
    const device = serial(second.devicePath);
    await device.open();
    const got = nextData(device);
    await host.write(Uint8Array.of(0x42));
    expect([...(await got)]).toEqual([0x42]);
  });
});

describe('classifySerialError', () => {
  it('maps OS errors to transport codes', () => {
    expect(classifySerialError(new Error('Error: Permission denied, cannot open /dev/ttyS0'), 'open')).toBe(
      'permission_denied',
    );
    expect(classifySerialError(Object.assign(new Error('x'), { code: 'EACCES' }), 'open')).toBe(
      'permission_denied',
    );
    expect(
      classifySerialError(new Error('Error Resource temporarily unavailable Cannot lock port'), 'open'),
    ).toBe('port_busy');
    expect(classifySerialError(Object.assign(new Error('busy'), { code: 'EBUSY' }), 'open')).toBe(
      'port_busy',
    );
    expect(
      classifySerialError(new Error('Error: No such file or directory, cannot open /dev/ttyUSB9'), 'open'),
    ).toBe('not_found');
    expect(classifySerialError(Object.assign(new Error('gone'), { disconnected: true }), 'io')).toBe(
      'unplugged',
    );
    expect(classifySerialError(new Error('Opening COM3: Access denied'), 'open', 'win32')).toBe('port_busy');
    expect(classifySerialError(new Error('Opening COM9: File not found'), 'open', 'win32')).toBe('not_found');
    expect(
      classifySerialError(new Error('Error: Permission denied, cannot open /dev/ttyUSB0'), 'open', 'linux'),
    ).toBe('permission_denied');
  });
});

describe('serialWireTimeMs', () => {
  it('counts start, data, parity and stop bits', () => {
    expect(serialWireTimeMs(1920, { baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1 })).toBe(1000);
    expect(serialWireTimeMs(960, { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 })).toBe(1000);
  });
});
