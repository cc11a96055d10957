import assert from 'node:assert/strict';
import { createConnection, createServer, type Server } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cgroupRoot, cniConfig, containerdConfig, holderScript, kubeletConfig, KUBELET_SYSCTLS, nodeDirs } from './cluster.js';
import { parseConnect } from './relay.js';
import { labNode, podCidr } from './topology.js';

describe('parseConnect', () => {
  const cases: Array<[string, string, { host: string; port: number } | RegExp]> = [
    ['a Pod address', 'CONNECT 10.244.2.7:9443 HTTP/1.1\r\nHost: 10.244.2.7:9443', { host: '10.244.2.7', port: 9443 }],
    ['a kubelet, HTTP/1.0', 'CONNECT 192.168.1.11:10250 HTTP/1.0', { host: '192.168.1.11', port: 10250 }],
    ['IPv6 in brackets', 'CONNECT [fd00:1::11]:10250 HTTP/1.1', { host: 'fd00:1::11', port: 10250 }],
    ['a GET is no CONNECT', 'GET / HTTP/1.1', /expected CONNECT HOST:PORT/],
    ['no port', 'CONNECT 10.244.2.7 HTTP/1.1', /expected CONNECT HOST:PORT/],
    ['port 0', 'CONNECT 10.244.2.7:0 HTTP/1.1', /port 0 out of range/],
    ['port 70000', 'CONNECT 10.244.2.7:70000 HTTP/1.1', /port 70000 out of range/],
  ];
  for (const [name, head, expected] of cases) {
    it(name, () => {
      const parsed = parseConnect(head);
      if (expected instanceof RegExp) assert.match('error' in parsed ? parsed.error : 'no error', expected);
      else assert.deepEqual(parsed, expected);
    });
  }
});

describe('the egress proxy relays a CONNECT to its target', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2lb-egress-'));
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function exchange(target: string, payload: string): Promise<string> {
    const socket = join(dir, `egress-${servers.length}.sock`);
    const relay = spawn(process.execPath, [join(fileURLToPath(new URL('.', import.meta.url)), 'relay.js'), '--listen', `unix:${socket}`, '--connect', 'http-connect'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100; i++) {
        const ready = await new Promise<boolean>((resolve) => {
          const probe = createConnection(socket).once('connect', () => { probe.destroy(); resolve(true); }).once('error', () => resolve(false));
        });
        if (ready) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return await new Promise<string>((resolve, reject) => {
        let answer = '';
        const client = createConnection(socket, () => client.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n${payload}`));
        client.on('data', (chunk) => { answer += chunk.toString(); });
        client.on('end', () => resolve(answer));
        client.on('error', reject);
      });
    } finally {
      relay.kill();
    }
  }

  it('answers 200 and carries bytes sent with the request head both ways', async () => {
    const echo = createServer((socket) => socket.on('data', (data) => socket.end(`echo:${data.toString()}`)));
    servers.push(echo);
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as { port: number }).port;
    assert.equal(await exchange(`127.0.0.1:${port}`, 'hello'), 'HTTP/1.1 200 Connection established\r\n\r\necho:hello');
  });

  it('answers 502 when the target refuses', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    closed.close();
    servers.push(createServer());
    assert.equal(await exchange(`127.0.0.1:${port}`, ''), 'HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
});

describe('a cluster node’s configuration', () => {
  const node = labNode(2);
  const dirs = nodeDirs({ root: '/lab', run: '/lab/run', logs: '/lab/logs', apiSocket: '/lab/run/api.sock', egressSocket: '/lab/run/egress.sock' }, node);

  it('keeps every containerd path, socket and runc root the node’s own, and restricts oom_score_adj', () => {
    const config = containerdConfig(dirs);
    assert.equal(dirs.state, '/lab/cluster/lab-node-2');
    assert.equal(dirs.run, '/run/l2lb-lab/lab-node-2');
    for (const line of ['root = "/lab/cluster/lab-node-2/containerd"', 'state = "/run/l2lb-lab/lab-node-2/containerd"',
      'address = "/run/l2lb-lab/lab-node-2/containerd.sock"', 'Root = "/run/l2lb-lab/lab-node-2/runc"',
      'restrict_oom_score_adj = true', 'sandbox_image = "l2lb.lab/pause:3.10"', 'conf_dir = "/lab/cluster/lab-node-2/cni"']) {
      assert.ok(config.includes(line), `containerd config lacks ${line}`);
    }
  });

  it('gives the kubelet its own cgroup root, address and socket, and no iptables chains', () => {
    const config = kubeletConfig(node, dirs, '/lab/state/pki/ca.crt');
    assert.equal(cgroupRoot(node), 'l2lb-lab-node-2');
    for (const line of ['cgroupRoot: /l2lb-lab-node-2', `address: ${node.eth0.ipv4}`, 'makeIPTablesUtilChains: false',
      'containerRuntimeEndpoint: unix:///run/l2lb-lab/lab-node-2/containerd.sock', 'clientCAFile: /lab/state/pki/ca.crt}',
      'podLogsDir: /lab/cluster/lab-node-2/pod-logs', 'imageGCHighThresholdPercent: 100']) {
      assert.ok(config.includes(line), `kubelet config lacks ${line}`);
    }
  });

  it('hands out Pod addresses from the node’s own subnet', () => {
    const config = JSON.parse(cniConfig(node, '/ipam')) as { plugins: Array<{ type: string; ipam: { ranges: Array<Array<{ subnet: string }>>; dataDir: string } }> };
    assert.equal(podCidr(node), '10.244.2.0/24');
    assert.deepEqual(config.plugins.map((p) => p.type), ['bridge']);
    assert.equal(config.plugins[0]!.ipam.ranges[0]![0]!.subnet, '10.244.2.0/24');
    assert.equal(config.plugins[0]!.ipam.dataDir, '/ipam');
  });

  it('shows the kubelet every host-wide sysctl it sets through a file of its own', () => {
    const script = holderScript('/lab/sys');
    for (const [key, value] of KUBELET_SYSCTLS) {
      const file = `/lab/sys/${key.replaceAll('/', '.')}`;
      assert.ok(script.includes(`echo ${value} > ${file} && mount --bind ${file} /proc/sys/${key}`), key);
    }
    assert.ok(script.startsWith('set -e\n'));
    assert.ok(script.endsWith('exec sleep infinity'));
  });
});
