import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEVICE_CHANNELS, deviceErrorSentence } from '@emdad/domain';
import {
  AGENT_SENTENCES,
  INITIAL_RETRY,
  MAX_ATTEMPTS_WITHOUT_OPEN,
  afterClose,
  connectWebSocketDevice,
} from './device-client.ts';

/** A WebSocket the test opens, answers and closes by hand. */
class FakeSocket {
  static readonly OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  acceptUpgrade() {
    this.readyState = 1;
    this.onopen?.();
  }
  /** What a browser reports for an HTTP 401 at the upgrade, or a closed port. */
  refuseUpgrade() {
    this.readyState = 3;
    this.onclose?.();
  }
}

const connect = () =>
  connectWebSocketDevice(
    { url: 'ws://127.0.0.1:47001', token: 'tok' },
    FakeSocket as unknown as typeof WebSocket,
  );
const last = () => FakeSocket.all[FakeSocket.all.length - 1]!;

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('afterClose', () => {
  it('retries with doubling delays and gives up after the attempts that never opened', () => {
    let state = INITIAL_RETRY;
    const waits: (number | null)[] = [];
    for (let i = 0; i < MAX_ATTEMPTS_WITHOUT_OPEN; i++) {
      const next = afterClose(state, false);
      waits.push(next.retryInMs);
      state = next.state;
    }
    expect(waits).toEqual([500, 1000, null]);
  });
  it('starts over after a connection that opened', () => {
    const worn = { attemptsWithoutOpen: 2, delayMs: 4000 };
    expect(afterClose(worn, true)).toEqual({
      state: { attemptsWithoutOpen: 0, delayMs: 1000 },
      retryInMs: 500,
    });
  });
});

describe('the agent WebSocket client', () => {
  it('sends the token and answers requests over the socket', async () => {
    const client = connect();
    expect(new URL(last().url).searchParams.get('token')).toBe('tok');
    last().acceptUpgrade();
    expect(client.state).toBe('open');
    const answer = client.invoke(DEVICE_CHANNELS.ping, { nonce: 'n' });
    const request = JSON.parse(last().sent[0]!) as { id: number };
    last().onmessage?.({
      data: JSON.stringify({ id: request.id, result: { ok: true, value: { nonce: 'n', at: 'now' } } }),
    });
    expect(await answer).toEqual({ ok: true, value: { nonce: 'n', at: 'now' } });
    client.close();
  });

  it('after a restart refuses the old token: stops retrying and says, in the user language, to reopen the printed address', async () => {
    const client = connect();
    const states: string[] = [];
    client.onState((s) => states.push(s));
    last().acceptUpgrade();
    // The agent restarts: the open socket closes, and every new upgrade with the old token fails.
    last().close();
    for (let i = 0; i < 10 && client.state !== 'refused'; i++) {
      await vi.advanceTimersByTimeAsync(20_000);
      last().refuseUpgrade();
    }
    expect(client.state).toBe('refused');
    const attempts = FakeSocket.all.length;
    expect(attempts).toBe(1 + MAX_ATTEMPTS_WITHOUT_OPEN);
    // No silent loop: nothing more is tried, however long the page stays open.
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(FakeSocket.all.length).toBe(attempts);

    const error = client.stoppedBecause!;
    expect(deviceErrorSentence(error, 'fa')).toBe(AGENT_SENTENCES.refused.fa);
    expect(deviceErrorSentence(error, 'en')).toContain('npm start');
    const result = await client.invoke(DEVICE_CHANNELS.version, {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(deviceErrorSentence(result.error, 'en')).toBe(AGENT_SENTENCES.refused.en);
    expect(states.at(-1)).toBe('refused');

    // "Try again" starts over and recovers if the agent accepts.
    client.retry();
    expect(FakeSocket.all.length).toBe(attempts + 1);
    last().acceptUpgrade();
    expect(client.state).toBe('open');
    expect(client.stoppedBecause).toBeNull();
    client.close();
  });

  it('gives pending and unconnected requests sentences that say what to do', async () => {
    const client = connect();
    const before = await client.invoke(DEVICE_CHANNELS.version, {});
    expect(before.ok || deviceErrorSentence(before.error, 'fa')).toBe(AGENT_SENTENCES.notConnected.fa);
    last().acceptUpgrade();
    const slow = client.invoke(DEVICE_CHANNELS.version, {});
    await vi.advanceTimersByTimeAsync(11_000);
    const timedOut = await slow;
    expect(timedOut.ok || deviceErrorSentence(timedOut.error, 'en')).toBe(AGENT_SENTENCES.timeout.en);
    const cut = client.invoke(DEVICE_CHANNELS.version, {});
    last().close();
    const lost = await cut;
    expect(lost.ok || deviceErrorSentence(lost.error, 'en')).toBe(AGENT_SENTENCES.connectionLost.en);
    client.close();
  });
});
