/**
 * A scripted DeviceDriver for runner, auto-detect and service unit tests: each operation is a
 * function the test supplies, and every call is recorded.
 */
import type { DeviceFamily, DeviceIdentity } from '@emdad/domain';
import type { DeviceDriver, DriverCheckResult, DriverContext } from '../drivers/driver.ts';

export type Op<T> = (ctx: DriverContext) => Promise<T>;

export interface FakeDriverScript {
  family?: DeviceFamily;
  protocol?: DeviceDriver['protocol'];
  checks?: readonly string[];
  probe?: (ctx: DriverContext, timeoutMs: number) => Promise<boolean>;
  open?: Op<void>;
  identify?: Op<DeviceIdentity>;
  check?: Record<string, Op<DriverCheckResult>>;
  cancel?: () => Promise<void>;
  close?: Op<void>;
}

export const FAKE_IDENTITY: DeviceIdentity = {
  family: 'abecs_pinpad',
  manufacturer: 'ACME',
  model: 'PP-1000',
  serialNumber: 'SN123456',
  firmwareVersion: '1.2.3',
  appVersion: '4.5.6',
  extra: { ksn: 'FFFF9876543210E00000' },
};

export function pass(values: Record<string, unknown> = {}): DriverCheckResult {
  return { status: 'pass', values, errorCode: null, message: null };
}

/** Resolves never, but rejects once the context's signal aborts — like a real pending command. */
export function hangUntilAborted<T>(ctx: DriverContext): Promise<T> {
  return new Promise<T>((_resolve, reject) => {
    ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
}

export class FakeDriver implements DeviceDriver {
  readonly family: DeviceFamily;
  readonly protocol: DeviceDriver['protocol'];
  readonly checks: readonly string[];
  readonly calls: string[] = [];

  constructor(private readonly script: FakeDriverScript = {}) {
    this.family = script.family ?? 'abecs_pinpad';
    this.protocol = script.protocol ?? 'abecs';
    this.checks = script.checks ?? ['display', 'keypad', 'card_events', 'key_slots'];
  }

  async probe(ctx: DriverContext, timeoutMs: number): Promise<boolean> {
    this.calls.push('probe');
    return this.script.probe ? this.script.probe(ctx, timeoutMs) : true;
  }
  async open(ctx: DriverContext): Promise<void> {
    this.calls.push('open');
    ctx.log({ direction: 'tx', hex: '164f504e17', at: 1 });
    ctx.log({ direction: 'rx', hex: '06', at: 2 });
    if (this.script.open) await this.script.open(ctx);
  }
  async identify(ctx: DriverContext): Promise<DeviceIdentity> {
    this.calls.push('identify');
    return this.script.identify ? this.script.identify(ctx) : { ...FAKE_IDENTITY, family: this.family };
  }
  async runCheck(checkId: string, ctx: DriverContext): Promise<DriverCheckResult> {
    this.calls.push(`check:${checkId}`);
    const op = this.script.check?.[checkId];
    return op ? op(ctx) : pass({ checkId });
  }
  async cancel(): Promise<void> {
    this.calls.push('cancel');
    if (this.script.cancel) await this.script.cancel();
  }
  async close(ctx: DriverContext): Promise<void> {
    this.calls.push('close');
    if (this.script.close) await this.script.close(ctx);
  }
}
