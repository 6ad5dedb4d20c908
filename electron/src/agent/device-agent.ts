/**
 * The browser-mode agent with the device service behind it: handler map + WebSocket + events.
 * `main.ts` runs it from the environment; tests run it with a service of their choosing.
 */
import type { DeviceService } from '@emdad/device-drivers/service/device-service';
import { createDeviceServiceBackend } from '../device-backend.ts';
import { createDeviceHandlerMap } from '../handlers.ts';
import { startLocalAgent, type LocalAgent, type LocalAgentOptions } from './local-agent.ts';

export interface DeviceAgent {
  agent: LocalAgent;
  /** Stops pushing events, ends every device session (ports released), closes the socket. */
  close(): Promise<void>;
}

export async function startDeviceAgent(
  service: DeviceService,
  options: Omit<LocalAgentOptions, 'handlers'>,
): Promise<DeviceAgent> {
  const backend = createDeviceServiceBackend(service);
  const handlers = createDeviceHandlerMap({ backend, transport: 'websocket' });
  const agent = await startLocalAgent({ ...options, handlers });
  const unsubscribe = backend.subscribe?.((event) => agent.broadcast(event)) ?? (() => undefined);
  return {
    agent,
    async close() {
      unsubscribe();
      await service.shutdown();
      await agent.close();
    },
  };
}
