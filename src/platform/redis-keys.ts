/**
 * Every Redis key the service uses, named in one place (BullMQ names its own, under
 * `<REDIS_PREFIX>-queue`). All start with REDIS_PREFIX, so several deployments (and test runs) can
 * share one Redis. A rename is one edit here; Lua scripts get whole key names, or a prefix from here
 * when they derive keys from ids (the ledger's buckets). The README's "Redis keys" table lists them.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  private key(...parts: Array<string | number>): string {
    return [this.prefix, ...parts].join(':');
  }

  // ------------------------------------------------------------------ console and rate limits

  /** A console session (admin name, CSRF token). */
  session(id: string): string {
    return this.key('session', id);
  }

  /** Failed console logins from a browser holding a device cookie (its nonce). */
  loginFailuresByDevice(device: string): string {
    return this.key('ratelimit', 'login-failures', 'device', device);
  }

  loginFailuresByIp(ip: string): string {
    return this.key('ratelimit', 'login-failures', 'ip', ip);
  }

  /** `account` as the login lock folds it (percent-encoded, so no `:` of its own). */
  loginFailuresByNameAndIp(account: string, ip: string): string {
    return this.key('ratelimit', 'login-failures', 'name-ip', account, ip);
  }

  loginFailuresByName(account: string): string {
    return this.key('ratelimit', 'login-failures', 'name', account);
  }

  signupsByIp(ip: string): string {
    return this.key('ratelimit', 'ip', ip);
  }

  confirmationsByAddress(lookupKey: string): string {
    return this.key('ratelimit', 'address', lookupKey);
  }

  // ------------------------------------------------------------------ an edition's delivery

  /** Everything of one edition's delivery starts with this (its counts, runs, failures, engagement). */
  editionPrefix(edition: string): string {
    return this.key('edition', edition, '');
  }

  /** The ledger's hashes of one edition start with this, followed by the bucket number (ids / BUCKET). */
  ledgerBucketPrefix(edition: string): string {
    return this.key('ledger', edition, '');
  }

  ledgerBucket(edition: string, bucket: number): string {
    return this.key('ledger', edition, bucket);
  }

  /** Delivery counts by state, kept as the ledger changes. */
  deliveryCounts(edition: string): string {
    return this.key('edition', edition, 'counts');
  }

  /** A run's cursor and summary (`main`, `r1`, …). */
  run(edition: string, run: string): string {
    return this.key('edition', edition, 'run', run);
  }

  runBatches(edition: string, run: string): string {
    return this.key('edition', edition, 'run', run, 'batches');
  }

  runConsumed(edition: string, run: string): string {
    return this.key('edition', edition, 'run', run, 'consumed');
  }

  runLock(edition: string, run: string): string {
    return this.key('edition', edition, 'run', run, 'lock');
  }

  failedIndex(edition: string): string {
    return this.key('edition', edition, 'failed');
  }

  failures(edition: string): string {
    return this.key('edition', edition, 'failures');
  }

  failureReasons(edition: string): string {
    return this.key('edition', edition, 'failure-reasons');
  }

  /** Recipients waiting for their destination's pace, counted by destination. */
  waitingByDestination(edition: string): string {
    return this.key('edition', edition, 'waiting');
  }

  opened(edition: string): string {
    return this.key('edition', edition, 'opened');
  }

  clicked(edition: string): string {
    return this.key('edition', edition, 'clicked');
  }

  linkClicks(edition: string): string {
    return this.key('edition', edition, 'link-clicks');
  }

  /** Readers who clicked link `index` of the edition (a HyperLogLog). */
  linkClickedBy(edition: string, index: number): string {
    return this.key('edition', edition, 'link', index, 'clicked');
  }

  // ------------------------------------------------------------------ sending

  /** Messages sent in one wall-clock second, across all workers (MAIL_RATE_PER_SECOND). */
  sendRate(second: number): string {
    return this.key('send-rate', second);
  }

  /** Messages sent through one transport in one second (its `rate=` in SMTP_URLS). */
  transportRate(transport: string, second: number): string {
    return this.key('send-rate', transport, second);
  }

  /** The pace of one destination through one transport (the destination pacer). */
  pace(transport: string, destination: string): string {
    return this.key('pace', transport, destination);
  }

  paceIndex(): string {
    return this.key('pace-index');
  }

  /** Whether a transport takes mail: failures in a row, and until when it is out of rotation. */
  transportHealth(transport: string): string {
    return this.key('transport', transport);
  }

  devMailbox(): string {
    return this.key('dev-mailbox');
  }
}
