/**
 * Diagnostic results as they travel from the device service to a case and the equipment history.
 * Error codes are stable: knowledge articles are linked to them (issue 5).
 */
export const DEVICE_FAMILIES = ['abecs_pinpad', 'pp791_terminal', 'hid_card_reader'] as const;
export type DeviceFamily = (typeof DEVICE_FAMILIES)[number];

export const STEP_STATUSES = ['pass', 'fail', 'warn', 'skipped', 'not_supported'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export type Verdict = 'healthy' | 'degraded' | 'faulty' | 'incomplete';

/** Stable diagnostic error codes. Extend, never renumber or reuse. */
export const DIAGNOSTIC_ERROR_CODES = {
  'DIAG-LINK-001':
    'No answer from the device (no ACK, or no reply after ACK, within the protocol timeout) while its port is present',
  'DIAG-LINK-002': 'Repeated checksum errors on the link (CRC/LRC)',
  'DIAG-LINK-003': 'The port went away mid-command (cable or USB adapter unplugged)',
  'DIAG-LINK-004': 'Protocol not recognised on this port',
  'DIAG-PORT-001': 'Port busy: another program holds it',
  'DIAG-PORT-002': 'Permission denied opening the port',
  'DIAG-KEY-001': 'Keypad key did not register',
  'DIAG-DSP-001': 'Display test failed',
  'DIAG-CARD-001': 'Card reader track decode failed',
  'DIAG-CARD-002': 'Chip/contactless event not received',
  'DIAG-SEC-001': 'No keys loaded in the expected key slots',
  'DIAG-SEC-002': 'Master key missing or invalid',
  'DIAG-HW-001': 'Self-test reported a hardware fault',
  'DIAG-TIME-001': 'Step timed out',
} as const;
export type DiagnosticErrorCode = keyof typeof DIAGNOSTIC_ERROR_CODES;

export interface DeviceIdentity {
  family: DeviceFamily;
  manufacturer: string | null;
  model: string | null;
  serialNumber: string | null;
  firmwareVersion: string | null;
  appVersion: string | null;
  /** Anything else the protocol reports (key-slot maps, KSNs, hardware present …). */
  extra: Record<string, unknown>;
}

export interface DiagnosticStepResult {
  id: string;
  title: string;
  status: StepStatus;
  /** Measured values, e.g. { keysPressed: 12, expected: 12 }. */
  values: Record<string, unknown>;
  errorCode: DiagnosticErrorCode | null;
  message: string | null;
  /** Raw frames in hex, both directions, for support. */
  frames: { direction: 'tx' | 'rx'; hex: string; at: number }[];
  durationMs: number;
}

export interface DiagnosticRunResult {
  suite: string;
  family: DeviceFamily;
  port: string;
  identity: DeviceIdentity | null;
  startedAt: string;
  finishedAt: string;
  verdict: Verdict;
  errorCodes: DiagnosticErrorCode[];
  steps: DiagnosticStepResult[];
}
