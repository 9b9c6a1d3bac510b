import type { PGlite } from '@electric-sql/pglite';

/** Backend message types and frontend messages this queue reads or writes (PostgreSQL protocol 3). */
const READY_FOR_QUERY = 0x5a; // 'Z'
const SYNC = Uint8Array.of(0x53, 0, 0, 0, 4); // 'S'

interface Message {
  kind: 'message';
  handlerId: number;
  bytes: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

/** A closed connection's turn to end what it left open. */
interface Farewell {
  kind: 'farewell';
  handlerId: number;
  done: () => void;
}

type Job = Message | Farewell;

/**
 * PGlite is one PostgreSQL session; pglite-socket's server multiplexes many connections onto it,
 * message by message. Its own queue (0.2.17) hands the session to another connection between the
 * messages of one extended-protocol query (Parse, Bind, Execute, Sync) whenever they arrive in
 * separate reads (a large parameter): the other connection's Parse then replaces the unnamed
 * statement and the first one's Bind runs the wrong query. It also stops for good after a failed
 * message. This queue gives the session to one connection from its first message until PostgreSQL
 * answers ReadyForQuery with status idle: a whole query, or a whole transaction, runs undisturbed.
 *
 * It has the shape of pglite-socket's internal QueryQueueManager (enqueue, clearQueueForHandler,
 * clearTransactionIfNeeded, getQueueLength), which its connection handlers call.
 */
export class SessionQueue {
  private readonly waiting: Job[] = [];
  /** The connection in the middle of a query or transaction; null when the session is idle. */
  private owner: number | null = null;
  private draining = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, bytes: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ kind: 'message', handlerId, bytes, onData, resolve, reject });
      void this.drain();
    });
  }

  getQueueLength(): number {
    return this.waiting.length;
  }

  /** The connection has gone: drop what it still had queued. */
  clearQueueForHandler(handlerId: number): void {
    for (let index = this.waiting.length - 1; index >= 0; index -= 1) {
      const job = this.waiting[index] as Job;
      if (job.handlerId !== handlerId || job.kind !== 'message') continue;
      this.waiting.splice(index, 1);
      job.reject(new Error('connection closed'));
    }
  }

  /** ...and end the query or transaction it left open, so that the other connections go on. */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    return new Promise((done) => {
      this.waiting.push({ kind: 'farewell', handlerId, done });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let job = this.next(); job; job = this.next()) {
        if (job.kind === 'message') await this.run(job);
        else await this.farewell(job);
      }
    } finally {
      this.draining = false;
    }
  }

  /** The oldest job, or while a connection owns the session, that connection's oldest. */
  private next(): Job | undefined {
    const index = this.owner === null ? 0 : this.waiting.findIndex((job) => job.handlerId === this.owner);
    return index < 0 ? undefined : this.waiting.splice(index, 1)[0];
  }

  private async run(message: Message): Promise<void> {
    const reply = new ReplyScanner();
    let sent = 0;
    try {
      await this.db.runExclusive(() =>
        this.db.execProtocolRawStream(message.bytes, {
          onRawData: (data) => {
            reply.push(data);
            sent += data.length;
            message.onData(data);
          },
        }),
      );
    } catch (error) {
      this.owner = this.db.isInTransaction() ? message.handlerId : null;
      message.reject(error);
      return;
    }
    this.owner = reply.readyStatus === 'I' ? null : message.handlerId;
    message.resolve(sent);
  }

  private async farewell(job: Farewell): Promise<void> {
    try {
      if (this.owner !== job.handlerId) return;
      await this.db.runExclusive(async () => {
        // Sync ends a half-sent query (and is harmless otherwise); an open transaction is rolled back.
        await this.db.execProtocolRawStream(SYNC, { onRawData: () => undefined });
        if (this.db.isInTransaction())
          await this.db.execProtocolRawStream(simpleQuery('ROLLBACK'), { onRawData: () => undefined });
      });
    } catch {
      // The session is unusable either way; the next query says so to its own connection.
    } finally {
      if (this.owner === job.handlerId) this.owner = null;
      job.done();
    }
  }
}

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`);
  const message = Buffer.alloc(5 + text.length);
  message.write('Q', 0);
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return message;
}

/**
 * Follows the backend messages of one reply, which may come in any number of chunks, for the
 * status of its ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' in a failed transaction.
 */
export class ReplyScanner {
  readyStatus: string | null = null;
  private readonly header = Buffer.alloc(5);
  private headerLength = 0;
  private type = 0;
  private bodyLeft = 0;

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        // ReadyForQuery's body is its one status byte.
        if (this.type === READY_FOR_QUERY) this.readyStatus = String.fromCharCode(chunk[at + take - 1] as number);
        this.bodyLeft -= take;
        at += take;
        continue;
      }
      this.header[this.headerLength] = chunk[at] as number;
      this.headerLength += 1;
      at += 1;
      if (this.headerLength === 5) {
        this.type = this.header[0] as number;
        this.bodyLeft = this.header.readInt32BE(1) - 4;
        this.headerLength = 0;
      }
    }
  }
}
