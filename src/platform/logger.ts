import { type DestinationStream, pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout (or `destination`, in tests); every process names itself so that merged logs stay readable. */
export function createLogger(process: string, level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { process }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
