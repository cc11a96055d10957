// The HTTPS endpoint the API server calls for admission. It owns a listening socket, hence a class; the
// decisions are `admissionResponse`'s. The certificate can be swapped while serving (rotation).

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { errorText } from './kit/log.js';
import { admissionResponse, admissionUnavailable, needsExistingPools, type AdmissionKind, type AdmissionReviewResponse } from './webhook-admission.js';

export const webhookPaths: Readonly<Record<string, AdmissionKind>> = {
  '/validate-metallb-io-v1beta1-ipaddresspool': 'IPAddressPool',
  '/validate-metallb-io-v1beta1-l2advertisement': 'L2Advertisement',
};

// The API server caps admission request bodies at 3 MiB; anything larger is not from it.
const maxBodyBytes = 3 * 1024 * 1024;

export interface WebhookServerOptions {
  readonly cert: string;
  readonly key: string;
  /** The pools stored now, read once per request that needs them; a rejection refuses the request. */
  readonly pools: () => Promise<readonly IPAddressPool[]>;
  readonly port?: number;
  readonly host?: string;
}

export class WebhookServer {
  private readonly server: Server;

  constructor(private readonly options: WebhookServerOptions) {
    this.server = createServer({ cert: options.cert, key: options.key, minVersion: 'TLSv1.2' }, (request, response) => {
      this.handle(request, response);
    });
    // The API server (Go's transport) keeps idle connections for 90 s and does not resend a POST whose
    // connection the server closed as it was reused; Node closes idle ones after 5 s, so about one
    // admission request in 2,000 failed with "connection reset" (a 500 to the user). Outlive Go's idle
    // timeout instead: the client closes first.
    this.server.keepAliveTimeout = 120_000;
    this.server.headersTimeout = 125_000;
  }

  /** Listens and resolves with the port (useful with port 0 in tests). */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 9443, this.options.host ?? '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** New connections use the new certificate; open ones keep theirs. */
  updateCertificate(cert: string, key: string): void {
    this.server.setSecureContext({ cert, key });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const kind = webhookPaths[path];
    if (kind === undefined || request.method !== 'POST') {
      response.writeHead(kind === undefined ? 404 : 405, { 'content-type': 'text/plain' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        response.writeHead(413).end();
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (response.headersSent) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined; // answered below as a bad request
      }
      void this.answer(body, kind).then((answer) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
  }

  private async answer(body: unknown, kind: AdmissionKind): Promise<AdmissionReviewResponse> {
    if (!needsExistingPools(body)) return admissionResponse(body, [], kind);
    try {
      return admissionResponse(body, await this.options.pools(), kind);
    } catch (error) {
      return admissionUnavailable(body,
        `cannot check this IPAddressPool against the others: listing IPAddressPools failed: ${errorText(error)}; nothing was stored, try again`);
    }
  }
}
