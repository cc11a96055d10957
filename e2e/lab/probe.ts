// A client that keeps asking a LoadBalancer address who it is: `ip netns exec lab-client node probe.js
// --url http://192.168.1.240/ --interval 20`. One JSON line per request on stdout: {t, node} or {t, error},
// t being the wall clock (ms) when the request was sent. Bounded: it stops after --duration ms or on SIGTERM.

import http from 'node:http';
import { parseArgs } from 'node:util';

process.stdout.on('error', () => process.exit(0)); // the reader went away: nothing more to say

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    interval: { type: 'string', default: '50' },
    timeout: { type: 'string', default: '300' },
    duration: { type: 'string', default: '120000' },
  },
});
if (values.url === undefined) throw new Error('probe: --url is required');
const url = values.url;
const intervalMs = Number(values.interval);
const timeoutMs = Number(values.timeout);
const stopAt = Date.now() + Number(values.duration);
let stopped = false;
process.on('SIGTERM', () => { stopped = true; });

function probeOnce(): Promise<string> {
  const t = Date.now();
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(JSON.stringify({ t, node: body.trim() })));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error) => resolve(JSON.stringify({ t, error: error.message })));
  });
}

while (!stopped && Date.now() < stopAt) {
  const started = Date.now();
  process.stdout.write((await probeOnce()) + '\n');
  const wait = intervalMs - (Date.now() - started);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
