/**
 * @emdad/device-drivers — the public surface for the Electron main process, the browser-mode local
 * agent, the CLI and the benches. Deep imports (`@emdad/device-drivers/<path>`) stay available for
 * tests and tools; this index names what other packages are expected to use.
 */

// The link to a device, and how devices are found.
export * from './transport/transport.ts';
export {
  SerialTransport,
  TRANSPORT_ERROR_SENTENCES,
  classifySerialError,
  serialWireTimeMs,
  type SerialTransportOptions,
} from './transport/serial-transport.ts';
export { MemoryTransport, createMemoryPair } from './transport/memory-transport.ts';
export {
  HidTransport,
  HID_PERMISSION_HINT,
  hasFeatureReports,
  listHidDevices,
  type HidTransportOptions,
} from './transport/hid-transport.ts';
export {
  DeviceWatcher,
  deviceKey,
  discoverDevices,
  listHidInterfaces,
  listSerialPorts,
  reconnect,
  sameDevice,
  vendorHint,
  waitForDevice,
} from './transport/discovery.ts';

// Framing codecs (pure encode/decode + Transform).
export {
  ABECS,
  ABECS_MAX_DATA,
  AbecsDecoder,
  AbecsParser,
  crc16Xmodem,
  decodeAbecs,
  encodeAbecsFrame,
  type AbecsEvent,
} from './framing/abecs.ts';
export {
  StxDecoder,
  StxLink,
  StxLinkError,
  StxParser,
  decodeStx,
  encodeStxFrame,
  lrc,
  type StxEvent,
  type StxExchange,
  type StxLineMode,
  type StxLinkFailure,
  type StxLinkOptions,
} from './framing/stx-lrc.ts';
export {
  MAGTEK_SWIPE_REPORT_LENGTH,
  MagtekSwipeParser,
  decodeSwipeReport,
  encodeSwipeReport,
} from './framing/magtek-swipe.ts';
export {
  VIVOTECH2_HEADER,
  VivoDecoder,
  crc16CcittFalse,
  encodeVivoCommand,
  encodeVivoResponse,
} from './framing/vivotech2.ts';

// Drivers.
export * from './drivers/driver.ts';
export {
  ABECS_SPEC_TIMINGS,
  AbecsLink,
  type AbecsCommandOptions,
  type AbecsLinkTimings,
} from './drivers/abecs-link.ts';
export {
  AbecsPinpadDriver,
  createAbecsPinpadDriver,
  type AbecsDriverOptions,
} from './drivers/abecs-pinpad.ts';
export { PP791_CHECKS, Pp791Driver, createPp791Driver, type Pp791DriverOptions } from './drivers/pp791.ts';
export {
  HID_READER_REPORT_LAYOUT,
  HidCardReaderDriver,
  createHidCardReaderDriver,
  createHidReaderTransport,
  variantForVendor,
  type HidCardReaderOptions,
  type HidReaderVariant,
} from './drivers/hid-card-reader.ts';

// Diagnostics: suites, runner, auto-detect.
export * from './diagnostics/suites.ts';
export * from './diagnostics/runner.ts';
export * from './diagnostics/auto-detect.ts';
export * from './diagnostics/protocols.ts';
export { classifyFailure, isDeviceFaultCode, isLinkFatal } from './diagnostics/classify.ts';

// The device service (Electron main and the local agent wrap it).
export * from './service/device-service.ts';
export * from './service/errors.ts';
export * from './service/requests.ts';
export * from './service/default-service.ts';

// Simulators (npm start's simulated PinPad, demos, tests).
export * from './simulators/simulator.ts';
export {
  AbecsPinpadSimulator,
  createAbecsSimulator,
  loadAbecsScenario,
  type AbecsScenario,
} from './simulators/abecs-pinpad-sim.ts';
export { Pp791Simulator, loadPp791Scenario, type Pp791Scenario } from './simulators/pp791-sim.ts';
export {
  HidReaderSimulator,
  loadHidReaderScenario,
  type HidReaderScenario,
} from './simulators/hid-reader-sim.ts';

// The bench report, for anything that prints a run.
export { formatRunReport, VERDICT_SENTENCES, type ReportLanguage } from './cli/report.ts';
export { runCli, EXIT as EMDAD_DIAG_EXIT_CODES, type PortReport } from './cli/run-cli.ts';
