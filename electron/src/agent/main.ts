/**
 * Runnable browser-mode device agent: `npx tsx electron/src/agent/main.ts`.
 * Prints one JSON line on stdout — { "url", "token", "origins" } — then serves until SIGINT/SIGTERM.
 * Configuration: EMDAD_SERVER_URL, EMDAD_AGENT_PORT, EMDAD_AGENT_ORIGINS (see ../config.ts).
 */
import { createLocalDeviceBackend } from '../backend.ts';
import { agentAllowedOrigins, agentPortFrom, serverUrlFrom } from '../config.ts';
import { createDeviceHandlerMap } from '../handlers.ts';
import { startLocalAgent } from './local-agent.ts';

async function main(): Promise<void> {
  const serverUrl = serverUrlFrom(process.env);
  const origins = agentAllowedOrigins(serverUrl, process.env.EMDAD_AGENT_ORIGINS);
  const handlers = createDeviceHandlerMap({ backend: createLocalDeviceBackend(), transport: 'websocket' });
  const agent = await startLocalAgent({
    handlers,
    allowedOrigins: origins,
    port: agentPortFrom(process.env),
    log: (message) => process.stderr.write(`[agent] ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify({ url: agent.url, token: agent.token, origins })}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void agent.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`The device agent could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
