// Every controller replica serves admission from the certificate the leader keeps in the Secret: the
// server starts when the Secret first appears and swaps certificates when it changes (rotation). A port
// that cannot be bound (in use, not permitted) is logged and tried again with backoff: the replica keeps
// running and says so, rather than dying on an unhandled rejection.
//
// A pool is checked for overlap against the pools the API server holds at that moment, not the informer
// cache: after an API outage a replica's cache lags by its informers' restart backoff, and right after a
// restart it may serve before the cache is filled; an overlapping pool was admitted in that window
// (MetalLB reads uncached too). A list that fails or outlasts its deadline refuses the pool with the
// reason, never admits it unchecked.

import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../operator/kit/backoff.js';
import type { Informer } from '../operator/kit/informer.js';
import { errorText, type Logger } from '../operator/kit/log.js';
import { WebhookServer } from '../operator/webhook-server.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { certificatesFromSecret, WEBHOOK_CERT_SECRET, type Secret } from './webhook-certificates.js';

const listenBackoff: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, jitter: 0.2 };
/** Half the API server's 10 s webhook timeout: a slow list is refused with its reason, not cut off. */
export const POOL_LIST_DEADLINE_MS = 5000;

/** The IPAddressPools the API server holds now; `signal` ends the list at its deadline. */
export type PoolLister = (signal: AbortSignal) => Promise<readonly IPAddressPool[]>;

export class WebhookServing {
  private server: WebhookServer | undefined;
  private servedCert = '';
  private pending: { cert: string; key: string } | undefined;
  private starting: Promise<void> | undefined;
  private readonly stopController = new AbortController();
  /** For tests and health: how many listen attempts failed. */
  listenFailures = 0;

  constructor(
    private readonly secrets: Informer<Secret>,
    private readonly listPools: PoolLister,
    private readonly listen: { port: number; host: string },
    private readonly logger: Logger,
    private readonly backoff: BackoffPolicy = listenBackoff,
  ) {
    secrets.on({ add: (secret) => this.follow(secret), update: (_old, secret) => this.follow(secret) });
  }

  /** Serving, on the certificate from the Secret. */
  isServing(): boolean {
    return this.server !== undefined && this.starting === undefined;
  }

  private follow(secret: Secret): void {
    if (secret.metadata.name !== WEBHOOK_CERT_SECRET) return;
    const certificates = certificatesFromSecret(secret);
    if (certificates === undefined || certificates.cert === this.servedCert) return;
    this.servedCert = certificates.cert;
    if (this.server !== undefined) {
      this.server.updateCertificate(certificates.cert, certificates.key);
      this.logger.info('webhook certificate swapped');
      return;
    }
    this.pending = { cert: certificates.cert, key: certificates.key };
    this.starting ??= this.startServing().finally(() => (this.starting = undefined));
  }

  private async startServing(): Promise<void> {
    for (let attempt = 0; !this.stopController.signal.aborted; attempt++) {
      const certificates = this.pending;
      if (certificates === undefined) return;
      const server = new WebhookServer({ ...certificates, pools: () => this.storedPools(), ...this.listen });
      try {
        const port = await server.start();
        this.server = server;
        // A rotation seen while the port was being bound.
        if (this.pending !== certificates && this.pending !== undefined) server.updateCertificate(this.pending.cert, this.pending.key);
        this.logger.info('serving the admission webhook', { port });
        return;
      } catch (error) {
        this.listenFailures++;
        const delayMs = backoffDelay(this.backoff, attempt);
        this.logger.error('the admission webhook cannot listen; retrying', { error: errorText(error), ...this.listen, delayMs });
        await sleep(delayMs, undefined, { signal: this.stopController.signal }).catch(() => undefined);
      }
    }
  }

  private async storedPools(): Promise<readonly IPAddressPool[]> {
    try {
      return await this.listPools(AbortSignal.timeout(POOL_LIST_DEADLINE_MS));
    } catch (error) {
      this.logger.warn('admission: the pools to check against could not be listed; refusing', { error: errorText(error) });
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.starting;
    await this.server?.stop();
  }
}
