// Every controller replica serves admission from the certificate the leader keeps in the Secret: the
// server starts when the Secret first appears and swaps certificates when it changes (rotation).

import type { Informer } from '../operator/informer.js';
import type { Logger } from '../operator/log.js';
import type { KubeObject } from '../operator/resources.js';
import { WebhookServer } from '../operator/webhook-server.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { certificatesFromSecret } from './webhook-certificates.js';

export class WebhookServing {
  private server: WebhookServer | undefined;
  private servedCert = '';

  constructor(
    private readonly secrets: Informer<KubeObject>,
    private readonly pools: Informer<IPAddressPool>,
    private readonly listen: { port: number; host: string },
    private readonly logger: Logger,
  ) {
    const follow = (secret: KubeObject): void => void this.serve(secret);
    secrets.on({ add: follow, update: (_old, secret) => follow(secret) });
  }

  private async serve(secret: KubeObject): Promise<void> {
    const certificates = certificatesFromSecret(secret);
    if (certificates === undefined || certificates.cert === this.servedCert) return;
    this.servedCert = certificates.cert;
    if (this.server === undefined) {
      this.server = new WebhookServer({ cert: certificates.cert, key: certificates.key, pools: () => this.pools.list(), ...this.listen });
      const port = await this.server.start();
      this.logger.info('serving the admission webhook', { port });
    } else {
      this.server.updateCertificate(certificates.cert, certificates.key);
      this.logger.info('webhook certificate swapped');
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}
