// A byte relay between a TCP port and a Unix socket. Network namespaces cannot reach each other's
// loopback, but every namespace sees the same filesystem: the API server listens on the host's loopback,
// a relay there serves it on a Unix socket, and a relay inside each node namespace serves that socket
// on the node's own 127.0.0.1:6443. TLS passes through untouched.
//   node relay.js --listen tcp:127.0.0.1:6443 --connect unix:/path/api.sock
//   node relay.js --listen unix:/path/api.sock --connect tcp:127.0.0.1:34567
// With --log-connections every inbound connection is a JSON line on stdout ({"connection": epoch ms,
// "from": its source address}):
// while the API server is down each request a client makes needs a connection of its own, so the node
// relays' logs count a speaker's attempts during an outage, which the API server cannot see.
//
// With --connect http-connect it is the API server's egress proxy on the cluster lab (konnectivity's
// part, in its HTTP CONNECT mode): the API server asks for `CONNECT <pod IP>:<port>` on the Unix socket
// and the relay, running in the control-plane namespace, dials it there. That is how the API server
// calls the webhook's Pod and the kubelets while the host's own routes stay untouched.
//   node relay.js --listen unix:/path/egress.sock --connect http-connect

import { createConnection, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';

type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string } | { kind: 'http-connect' };

export function parseEndpoint(text: string): Endpoint {
  if (text === 'http-connect') return { kind: 'http-connect' };
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice(5) };
  const match = /^tcp:(.+):(\d+)$/.exec(text);
  if (match === null) throw new Error(`endpoint "${text}": expected tcp:HOST:PORT or unix:PATH`);
  return { kind: 'tcp', host: match[1]!, port: Number(match[2]) };
}

function connectTo(endpoint: Endpoint & { kind: 'tcp' | 'unix' }): Socket {
  return endpoint.kind === 'unix' ? createConnection(endpoint.path) : createConnection(endpoint.port, endpoint.host);
}

/** The target of an HTTP CONNECT request head ("CONNECT 10.244.1.5:9443 HTTP/1.1", IPv6 in brackets),
 *  or an error saying what was wrong with it. */
export function parseConnect(head: string): { host: string; port: number } | { error: string } {
  const line = head.split('\r\n')[0] ?? '';
  const match = /^CONNECT (?:\[([0-9a-fA-F:.]+)\]|([^\s:]+)):(\d{1,5}) HTTP\/1\.[01]$/.exec(line);
  if (match === null) return { error: `request "${line.slice(0, 80)}": expected CONNECT HOST:PORT HTTP/1.1` };
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return { error: `request "${line}": port ${port} out of range` };
  return { host: match[1] ?? match[2]!, port };
}

function pipeBoth(inbound: Socket, outbound: Socket): void {
  inbound.pipe(outbound).pipe(inbound);
  const close = (): void => {
    inbound.destroy();
    outbound.destroy();
  };
  inbound.on('error', close);
  outbound.on('error', close);
  inbound.on('close', close);
  outbound.on('close', close);
}

/** Reads the CONNECT head, dials its target, answers 200 and relays; 400/502 when it cannot. */
function proxyConnect(inbound: Socket): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 8192) inbound.end('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
      return;
    }
    inbound.off('data', onData);
    inbound.pause();
    const target = parseConnect(head.subarray(0, end).toString('latin1'));
    if ('error' in target) {
      console.log(JSON.stringify({ level: 'warn', msg: 'bad CONNECT', error: target.error }));
      inbound.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const rest = head.subarray(end + 4);
    const outbound = createConnection(target.port, target.host);
    let connected = false;
    outbound.once('connect', () => {
      connected = true;
      inbound.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (rest.length > 0) outbound.write(rest);
      pipeBoth(inbound, outbound);
      inbound.resume();
    });
    outbound.once('error', (error) => {
      if (!connected) {
        console.log(JSON.stringify({ level: 'warn', msg: 'CONNECT target unreachable', target: `${target.host}:${target.port}`, error: error.message }));
        inbound.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      }
    });
  };
  inbound.on('data', onData);
  inbound.on('error', () => inbound.destroy());
}

function main(): void {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, connect: { type: 'string' }, 'log-connections': { type: 'boolean' } } });
  if (values.listen === undefined || values.connect === undefined) throw new Error('usage: relay --listen EP --connect EP');
  const listen = parseEndpoint(values.listen);
  const target = parseEndpoint(values.connect);
  const server = createServer((inbound) => {
    if (values['log-connections'] === true) console.log(JSON.stringify({ connection: Date.now(), from: inbound.remoteAddress }));
    if (target.kind === 'http-connect') proxyConnect(inbound);
    else pipeBoth(inbound, connectTo(target));
  });
  if (listen.kind === 'http-connect') throw new Error('--listen http-connect: the proxy listens on tcp: or unix:');
  if (listen.kind === 'unix') {
    rmSync(listen.path, { force: true });
    server.listen(listen.path);
  } else {
    server.listen(listen.port, listen.host);
  }
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (process.argv[1]?.endsWith('relay.js') === true) main();
