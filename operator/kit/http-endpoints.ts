// The process's plain-HTTP endpoints: /healthz (the process is alive and its loops turn), /readyz (caches
// synced: safe to send it work), and later /metrics. One small server, because every probe and scrape in
// the guides targets one port per pod.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Probe = () => { ok: true } | { ok: false; reason: string };
export type Route = (request: http.IncomingMessage, response: http.ServerResponse) => void;

export class HttpEndpoints {
  private readonly routes = new Map<string, Route>();
  private server: http.Server | undefined;

  constructor(probes: { healthz: Probe; readyz: Probe }) {
    this.routes.set('/healthz', probeRoute(probes.healthz));
    this.routes.set('/readyz', probeRoute(probes.readyz));
  }

  route(path: string, handler: Route): this {
    this.routes.set(path, handler);
    return this;
  }

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const server = http.createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const route = this.routes.get(path);
      if (route === undefined) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      route(request, response);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function probeRoute(probe: Probe): Route {
  return (_request, response) => {
    const result = probe();
    if (result.ok) response.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    else response.writeHead(503, { 'Content-Type': 'text/plain' }).end(`${result.reason}\n`);
  };
}
