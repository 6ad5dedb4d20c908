/**
 * Turning whatever a driver or transport threw into a step failure with a stable domain code, so
 * the report and the knowledge articles never depend on exception classes.
 */
import type { DiagnosticErrorCode } from '@emdad/domain';
import { DriverError, type FrameLogEntry } from '../drivers/driver.ts';
import { TransportError } from '../transport/transport.ts';

export interface ClassifiedFailure {
  errorCode: DiagnosticErrorCode | null;
  message: string;
  frames: FrameLogEntry[];
  /** The link or port is gone: nothing later in the suite can succeed. */
  linkLost: boolean;
}

/** Codes after which talking to the device again is pointless (the runner stops the suite). */
const LINK_FATAL: ReadonlySet<DiagnosticErrorCode> = new Set<DiagnosticErrorCode>([
  'DIAG-LINK-001',
  'DIAG-LINK-003',
  'DIAG-LINK-004',
  'DIAG-PORT-001',
  'DIAG-PORT-002',
]);

export function isLinkFatal(code: DiagnosticErrorCode | null): boolean {
  return code !== null && LINK_FATAL.has(code);
}

/** Link, port and timeout codes describe the connection, not the device's own hardware. */
export function isDeviceFaultCode(code: DiagnosticErrorCode | null): boolean {
  return (
    code !== null &&
    !code.startsWith('DIAG-LINK-') &&
    !code.startsWith('DIAG-PORT-') &&
    code !== 'DIAG-TIME-001'
  );
}

export function transportErrorToDiagnosticCode(error: TransportError): DiagnosticErrorCode {
  switch (error.code) {
    case 'port_busy':
      return 'DIAG-PORT-001';
    case 'permission_denied':
      return 'DIAG-PORT-002';
    default:
      // not_found, unplugged, closed, write_failed, io_error: the device is no longer reachable.
      return 'DIAG-LINK-003';
  }
}

export function classifyFailure(error: unknown): ClassifiedFailure {
  if (error instanceof DriverError) {
    return {
      errorCode: error.code,
      message: error.message,
      frames: error.frames ?? [],
      linkLost: isLinkFatal(error.code),
    };
  }
  if (error instanceof TransportError) {
    const errorCode = transportErrorToDiagnosticCode(error);
    return { errorCode, message: error.message, frames: [], linkLost: true };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { errorCode: null, message: `Unexpected driver error: ${message}`, frames: [], linkLost: false };
}
