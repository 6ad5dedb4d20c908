import { describe, expect, it } from 'vitest';
import * as drivers from './index.ts';

describe('@emdad/device-drivers public surface', () => {
  it('exports the service, runner, drivers and simulators other packages use, without side effects', () => {
    for (const name of [
      'createDeviceService',
      'DeviceService',
      'createDeviceServiceHandlers',
      'DeviceServiceError',
      'runDiagnostics',
      'autoDetect',
      'suiteForFamily',
      'DriverError',
      'SerialTransport',
      'createAbecsPinpadDriver',
      'createPp791Driver',
      'createHidCardReaderDriver',
      'AbecsPinpadSimulator',
      'formatRunReport',
      // Drivers, links and simulators the benches, the agent and tools build on.
      'Pp791Driver',
      'createHidReaderTransport',
      'HidCardReaderDriver',
      'Pp791Simulator',
      'loadPp791Scenario',
      'HidReaderSimulator',
      'loadHidReaderScenario',
      'StxLink',
      'VivoDecoder',
      'serialWireTimeMs',
      'AbecsLink',
      'createAbecsSimulator',
    ] as const) {
      expect(typeof drivers[name], name).toBe('function');
    }
    expect(Object.keys(drivers.DEVICE_SERVICE_ERROR_SENTENCES)).toContain('permission_denied');
    expect(Object.keys(drivers.deviceServiceRequestSchemas)).toEqual(
      expect.arrayContaining([
        'listDevices',
        'connect',
        'identify',
        'runSuite',
        'cancel',
        'disconnect',
        'reconnect',
      ]),
    );
  });
});
