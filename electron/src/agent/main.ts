/**
 * Runnable browser-mode device agent: `npx tsx electron/src/agent/main.ts`.
 * Prints one JSON line on stdout — { "url", "token", "origins" } — then serves until SIGINT/SIGTERM.
 * Configuration: EMDAD_SERVER_URL, EMDAD_AGENT_PORT, EMDAD_AGENT_ORIGINS (see ../config.ts), and
 * EMDAD_DEVICE_PATHS (path-delimiter separated ports the OS listing never shows, e.g. a simulator's pty).
 */
import path from 'node:path';
import { createDeviceService } from '@emdad/device-drivers/service/default-service';
import { agentAllowedOrigins, agentPortFrom, serverUrlFrom } from '../config.ts';
import { devicePathsFrom } from '../device-backend.ts';
import { startDeviceAgent } from './device-agent.ts';

async function main(): Promise<void> {
  const serverUrl = serverUrlFrom(process.env);
  const origins = agentAllowedOrigins(serverUrl, process.env.EMDAD_AGENT_ORIGINS);
  const service = createDeviceService();
  for (const devicePath of devicePathsFrom(process.env.EMDAD_DEVICE_PATHS, path.delimiter))
    service.addPath(devicePath);
  // Plugging a PinPad in or pulling it out shows up in the device list without a refresh.
  void service.startWatching().catch(() => undefined);
  const { agent, close } = await startDeviceAgent(service, {
    allowedOrigins: origins,
    port: agentPortFrom(process.env),
    log: (message) => process.stderr.write(`[agent] ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify({ url: agent.url, token: agent.token, origins })}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Release the serial ports before exiting, but never hang on a wedged device.
    setTimeout(() => process.exit(0), 5000).unref();
    void close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `The device agent could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
