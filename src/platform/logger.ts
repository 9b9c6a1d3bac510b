import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; every process names itself so that merged logs stay readable. */
export function createLogger(process: string, level: string): Logger {
  return pino({ level, base: { process }, timestamp: pino.stdTimeFunctions.isoTime });
}
