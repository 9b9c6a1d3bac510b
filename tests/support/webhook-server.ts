import { createServer, type Server } from 'node:http';

export interface ReceivedNotice {
  text: string;
  edition: string;
  kind: string;
  event: 'raised' | 'resolved';
}

/** A chat service's incoming webhook, over real HTTP: it records what arrives, and can be "down" for a number of requests. */
export class WebhookServer {
  readonly received: ReceivedNotice[] = [];
  /** Requests answered so far, failed ones included. */
  requests = 0;
  /** The next this-many requests are answered 503, as a service that is down. */
  failNext = 0;
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        this.requests += 1;
        if (this.failNext > 0) {
          this.failNext -= 1;
          response.writeHead(503).end('down');
          return;
        }
        this.received.push(JSON.parse(body) as ReceivedNotice);
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks/desk`;
    return this;
  }

  of(edition: string, kind?: string): ReceivedNotice[] {
    return this.received.filter((notice) => notice.edition === edition && (!kind || notice.kind === kind));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
