/**
 * The shape every device simulator implements, so `simulators/cli.ts` (a separate process on the far
 * end of a socat pty pair) and the in-process tests can run any of them the same way: attach it to a
 * transport (the simulator is the *device* end of the link), tell it which faults to inject, detach.
 */
import type { Transport } from '../transport/transport.ts';

/** Faults a simulator can inject on demand (issue 3, "Simulators"). */
export const SIMULATOR_FAULTS = [
  /** Every frame the device sends carries a wrong CRC/LRC. */
  'bad_checksum',
  /** The device never acknowledges a command frame (no ACK, no NAK). */
  'missing_ack',
  /** The device answers every command frame with NAK. */
  'nak_storm',
  /** The device takes longer than the protocol allows to answer (think time well past the timeout). */
  'slow',
  /** The device sprinkles garbage bytes before/between its frames. */
  'garbage',
  /** The device goes silent in the middle of a command, as if the cable was pulled. */
  'unplug_mid_command',
  /** The keypad test fails (keys do not register). */
  'keypad_failure',
  /** The card reader never reports swipe/chip/tap events (or reports decode errors). */
  'card_reader_failure',
] as const;
export type SimulatorFault = (typeof SIMULATOR_FAULTS)[number];

export function isSimulatorFault(value: string): value is SimulatorFault {
  return (SIMULATOR_FAULTS as readonly string[]).includes(value);
}

export interface DeviceSimulator {
  /** Starts serving on `transport` (already open). */
  attach(transport: Transport): void;
  /** Stops serving and drops timers; does not close the transport (its owner does). */
  detach(): void;
  /** Replaces the active set of faults. */
  setFaults(faults: readonly SimulatorFault[]): void;
  /** Configured think time per command, in ms (the bench adds it to the frames' wire time). */
  readonly thinkTimeMs: number;
}
