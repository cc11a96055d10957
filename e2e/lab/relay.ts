// A byte relay between a TCP port and a Unix socket. Network namespaces cannot reach each other's
// loopback, but every namespace sees the same filesystem: the API server listens on the host's loopback,
// a relay there serves it on a Unix socket, and a relay inside each node namespace serves that socket
// on the node's own 127.0.0.1:6443. TLS passes through untouched.
//   node relay.js --listen tcp:127.0.0.1:6443 --connect unix:/path/api.sock
//   node relay.js --listen unix:/path/api.sock --connect tcp:127.0.0.1:34567
// With --log-connections every inbound connection is a JSON line on stdout ({"connection": epoch ms}):
// while the API server is down each request a client makes needs a connection of its own, so the node
// relays' logs count a speaker's attempts during an outage, which the API server cannot see.

import { createConnection, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';

type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice(5) };
  const match = /^tcp:(.+):(\d+)$/.exec(text);
  if (match === null) throw new Error(`endpoint "${text}": expected tcp:HOST:PORT or unix:PATH`);
  return { kind: 'tcp', host: match[1]!, port: Number(match[2]) };
}

function connectTo(endpoint: Endpoint): Socket {
  return endpoint.kind === 'unix' ? createConnection(endpoint.path) : createConnection(endpoint.port, endpoint.host);
}

function main(): void {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, connect: { type: 'string' }, 'log-connections': { type: 'boolean' } } });
  if (values.listen === undefined || values.connect === undefined) throw new Error('usage: relay --listen EP --connect EP');
  const listen = parseEndpoint(values.listen);
  const target = parseEndpoint(values.connect);
  const server = createServer((inbound) => {
    if (values['log-connections'] === true) console.log(JSON.stringify({ connection: Date.now() }));
    const outbound = connectTo(target);
    inbound.pipe(outbound).pipe(inbound);
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close);
    outbound.on('error', close);
    inbound.on('close', close);
    outbound.on('close', close);
  });
  if (listen.kind === 'unix') {
    rmSync(listen.path, { force: true });
    server.listen(listen.path);
  } else {
    server.listen(listen.port, listen.host);
  }
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main();
