import { describe, expect, it } from 'vitest';
import { createMemoryPair } from './memory-transport.ts';
import { TransportError } from './transport.ts';

describe('memory transport pair', () => {
  it('delivers bytes written on one end to the other', async () => {
    const [a, b] = createMemoryPair();
    await a.open();
    await b.open();
    const got: number[] = [];
    b.on('data', (c) => got.push(...c));
    await a.write(Uint8Array.of(1, 2, 3));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([1, 2, 3]);
  });
  it('refuses writes when closed and a second open', async () => {
    const [a] = createMemoryPair();
    await expect(a.write(Uint8Array.of(1))).rejects.toBeInstanceOf(TransportError);
    await a.open();
    await expect(a.open()).rejects.toMatchObject({ code: 'port_busy' });
  });
  it('unplug emits error then close with code unplugged, and the port opens again after replug', async () => {
    const [a] = createMemoryPair();
    await a.open();
    const seen: string[] = [];
    a.on('error', (e) => seen.push(`error:${e.code}`));
    a.on('close', (e) => seen.push(`close:${e?.code ?? 'none'}`));
    a.unplug();
    expect(seen).toEqual(['error:unplugged', 'close:unplugged']);
    await expect(a.open()).rejects.toMatchObject({ code: 'not_found' });
    a.replug();
    await a.open();
    expect(a.isOpen).toBe(true);
  });

  it('with line settings, bytes take their wire time (19200 8N1: 10 bits a byte)', async () => {
    const [a, b] = createMemoryPair('a', 'b', { baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1 });
    await a.open();
    await b.open();
    let arrivedAt = 0;
    b.on('data', () => (arrivedAt = performance.now()));
    const started = performance.now();
    await a.write(new Uint8Array(192)); // 100 ms of wire
    expect(arrivedAt).toBeGreaterThan(0);
    expect(arrivedAt - started).toBeGreaterThanOrEqual(95);
  });
});
