import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fetchFromSns, type SnsFetch } from '../../src/feedback/relays.ts';

/** The host every SNS URL of the tests' topic (us-east-1) is on. */
export const SNS_ORIGIN = 'https://sns.us-east-1.amazonaws.com';
export const SNS_CERT_URL = `${SNS_ORIGIN}/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem`;

/**
 * Amazon SNS as the service meets it, over real HTTP on loopback: the signing certificate (the
 * test-only one in tests/fixtures/feedback/sns) at its .pem path, and the ConfirmSubscription
 * answer. `snsFetch` is the app's real fetch with SNS's origin swapped for this peer's, since no
 * test can serve https://sns.us-east-1.amazonaws.com itself.
 */
export class SnsPeer {
  /** Paths and queries requested, in order. */
  readonly requests: string[] = [];
  private server: Server | null = null;
  private origin = '';
  private readonly certificate = readFileSync(
    new URL('../fixtures/feedback/sns/test-signing-cert.pem', import.meta.url),
    'utf8',
  );

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const path = request.url ?? '/';
      this.requests.push(path);
      if (path === new URL(SNS_CERT_URL).pathname)
        return void response.writeHead(200, { 'content-type': 'application/x-x509-ca-cert' }).end(this.certificate);
      if (path.startsWith('/?Action=ConfirmSubscription')) {
        return void response
          .writeHead(200, { 'content-type': 'text/xml' })
          .end(
            '<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>',
          );
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  readonly snsFetch: SnsFetch = (url) => {
    if (!url.startsWith(`${SNS_ORIGIN}/`)) throw new Error(`not an SNS URL of the test region: ${url}`);
    return fetchFromSns(this.origin + url.slice(SNS_ORIGIN.length));
  };

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
