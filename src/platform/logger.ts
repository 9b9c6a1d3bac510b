import { type DestinationStream, pino, type Logger } from 'pino';

export type { DestinationStream, Logger };

/**
 * JSON logs on stdout (or `destination`, e.g. `commandLogs()`, or a stream in tests); every process names
 * itself so that merged logs stay readable.
 */
export function createLogger(process: string, level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { process }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * Where a command's logs go: stderr, because its stdout is its answer (JSON that scripts parse).
 * Synchronous, so that a line written just before the command exits is not lost.
 */
export function commandLogs(): DestinationStream {
  return pino.destination({ dest: 2, sync: true });
}
