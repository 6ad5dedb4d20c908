/**
 * The typed device-API handler map, shared verbatim by Electron IPC (`ipcMain.handle`) and the
 * browser-mode local WebSocket agent. Every payload is validated with the channel's zod schema from
 * `@emdad/domain` before any backend code sees it; unknown channels are refused; a throwing backend
 * becomes an `internal` error result, never an exception across the process boundary.
 */
import {
  DEVICE_API_VERSION,
  DEVICE_CHANNELS,
  DEVICE_UNAVAILABLE_SENTENCE,
  deviceRequestSchemas,
  type DeviceApiError,
  type DeviceChannel,
  type DeviceEvent,
  type DeviceRequest,
  type DeviceResult,
  type Result,
} from '@emdad/domain';

export type DeviceTransportKind = 'ipc' | 'websocket';

/** The channels answered by the device service (everything but version and ping). */
export type DeviceServiceChannel = Exclude<
  DeviceChannel,
  typeof DEVICE_CHANNELS.version | typeof DEVICE_CHANNELS.ping
>;
export const DEVICE_SERVICE_CHANNELS = Object.values(DEVICE_CHANNELS).filter(
  (c): c is DeviceServiceChannel => c !== DEVICE_CHANNELS.version && c !== DEVICE_CHANNELS.ping,
);

/** One function per device-service channel, called with an already validated request. */
export type DeviceServiceOperations = {
  readonly [C in DeviceServiceChannel]: (request: DeviceRequest<C>) => Promise<DeviceResult<C>>;
};

/** What stands behind the API. Injected, so the handlers run in Node tests without Electron. */
export interface DeviceBackend {
  /** Name and version of the service, shown in the renderer's device panel. */
  readonly serviceName: string;
  /** Clock, injectable for tests. */
  now(): Date;
  /** The device service; without it the device channels answer `service_unavailable`. */
  readonly operations?: DeviceServiceOperations;
  /** Pushed events (diagnostic progress, a device lost); returns the unsubscribe function. */
  subscribe?(listener: (event: DeviceEvent) => void): () => void;
}

export type DeviceHandler<C extends DeviceChannel> = (payload: unknown) => Promise<DeviceResult<C>>;
export type DeviceHandlerMap = { readonly [C in DeviceChannel]: DeviceHandler<C> };

export interface HandlerMapOptions {
  backend: DeviceBackend;
  transport: DeviceTransportKind;
  /** Where unexpected backend failures are reported (the user only sees a sentence). */
  log?: (message: string, error: unknown) => void;
}

const KNOWN_CHANNELS: ReadonlySet<string> = new Set(Object.values(DEVICE_CHANNELS));

export function isDeviceChannel(channel: unknown): channel is DeviceChannel {
  return typeof channel === 'string' && KNOWN_CHANNELS.has(channel);
}

function badRequest(message: string): { ok: false; error: DeviceApiError } {
  return { ok: false, error: { code: 'bad_request', message } };
}

const UNAVAILABLE: { ok: false; error: DeviceApiError } = {
  ok: false,
  error: {
    code: 'service_unavailable',
    message: 'No device service behind this API.',
    sentence: DEVICE_UNAVAILABLE_SENTENCE,
  },
};

/** Wraps a typed implementation with validation and failure containment. */
function validated<C extends DeviceChannel>(
  channel: C,
  implementation: (request: DeviceRequest<C>) => Promise<DeviceResult<C>>,
  log: (message: string, error: unknown) => void,
): DeviceHandler<C> {
  const schema = deviceRequestSchemas[channel];
  return async (payload) => {
    const parsed = schema.safeParse(payload ?? {});
    if (!parsed.success) {
      const where = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`,
      );
      return badRequest(`Invalid payload for ${channel}: ${where.join('; ')}`);
    }
    try {
      return await implementation(parsed.data as DeviceRequest<C>);
    } catch (error) {
      log(`device handler ${channel} failed`, error);
      return {
        ok: false,
        error: { code: 'internal', message: `The device service failed while handling ${channel}.` },
      };
    }
  };
}

export function createDeviceHandlerMap(options: HandlerMapOptions): DeviceHandlerMap {
  const { backend, transport } = options;
  const log = options.log ?? ((message, error) => console.error(message, error));
  const service: Record<string, DeviceHandler<DeviceChannel>> = {};
  for (const channel of DEVICE_SERVICE_CHANNELS) {
    service[channel] = validated(
      channel,
      async (request) => {
        const operation = backend.operations?.[channel] as
          ((r: unknown) => Promise<DeviceResult<typeof channel>>) | undefined;
        return operation ? operation(request) : UNAVAILABLE;
      },
      log,
    ) as DeviceHandler<DeviceChannel>;
  }
  return Object.freeze({
    ...(service as { [C in DeviceServiceChannel]: DeviceHandler<C> }),
    [DEVICE_CHANNELS.version]: validated(
      DEVICE_CHANNELS.version,
      async () => ({
        ok: true,
        value: { apiVersion: DEVICE_API_VERSION, service: backend.serviceName, transport },
      }),
      log,
    ),
    [DEVICE_CHANNELS.ping]: validated(
      DEVICE_CHANNELS.ping,
      async ({ nonce }) => ({ ok: true, value: { nonce, at: backend.now().toISOString() } }),
      log,
    ),
  });
}

/**
 * The one entry point both transports call with untrusted input: refuses anything that is not a
 * known channel (including prototype names such as `__proto__` or `constructor`).
 */
export async function dispatchDeviceRequest(
  handlers: DeviceHandlerMap,
  channel: unknown,
  payload: unknown,
): Promise<Result<unknown, DeviceApiError>> {
  if (!isDeviceChannel(channel)) {
    return badRequest(
      `Unknown device channel: ${typeof channel === 'string' ? channel.slice(0, 64) : typeof channel}`,
    );
  }
  const handler = handlers[channel] as DeviceHandler<DeviceChannel>;
  return handler(payload);
}
