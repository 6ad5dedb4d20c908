/**
 * Test helper: a connected pair of pseudo-terminals made by socat, so tests can open real serial
 * ports with `serialport` on one end and run a device simulator on the other. `stop()` kills the
 * socat process by its own PID (never by name: other helpers' socat processes share the machine).
 * Killing socat is also how tests "pull the cable" mid-command.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface PtyPair {
  /** Near end (the host/driver side); equals `link` when one was asked for. */
  hostPath: string;
  /** Far end (the simulated device side). */
  devicePath: string;
  pid: number;
  /** Resolves once socat has exited. Safe to call twice. */
  stop(): Promise<void>;
  readonly exited: Promise<void>;
}

export interface PtyPairOptions {
  /** Symlink for the host end, e.g. /tmp/ttyEMDAD0 (socat creates and removes it). */
  link?: string;
  /** How long to wait for socat to report both ptys. */
  startTimeoutMs?: number;
}

export async function startPtyPair(options: PtyPairOptions = {}): Promise<PtyPair> {
  const first = options.link ? `pty,raw,echo=0,link=${options.link}` : 'pty,raw,echo=0';
  const child: ChildProcess = spawn('socat', ['-d', '-d', first, 'pty,raw,echo=0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined)
    throw new Error('socat could not be started: is the Debian package "socat" installed?');
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await exited;
  };
  try {
    const ptys = await new Promise<string[]>((resolve, reject) => {
      const found: string[] = [];
      let text = '';
      const timer = setTimeout(
        () => reject(new Error(`socat did not report its ptys in time: ${text.trim()}`)),
        options.startTimeoutMs ?? 5000,
      );
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        text += chunk;
        for (const m of chunk.matchAll(/PTY is (\S+)/g)) if (m[1]) found.push(m[1]);
        // "starting data transfer loop" is printed once both ends exist.
        if (found.length >= 2 && /starting data transfer loop/.test(text)) {
          clearTimeout(timer);
          resolve(found);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`socat exited (${code}) before the ptys were ready: ${text.trim()}`));
      });
    });
    return {
      hostPath: options.link ?? (ptys[0] as string),
      devicePath: ptys[1] as string,
      pid,
      stop,
      exited,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
