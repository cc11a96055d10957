import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalIP, electionOrder, electOwner } from './election.js';

const three = ['lab-node-1', 'lab-node-2', 'lab-node-3'];

describe('electOwner', () => {
  // Expected owners computed outside this code: `printf '%s' "lab-node-3#192.168.1.240" | sha256sum`, the
  // smallest digest wins, as in MetalLB's ShouldAnnounce.
  const cases: ReadonlyArray<[string, string, readonly string[], string | undefined]> = [
    ['no eligible node: nobody announces', '192.168.1.240', [], undefined],
    ['one eligible node announces alone', '192.168.1.240', ['lab-node-2'], 'lab-node-2'],
    ['the smallest sha256(node#ip) wins, as MetalLB elects', '192.168.1.240', three, 'lab-node-3'],
    ['IPv6 addresses are elected the same way', 'fd00:1::240', three, 'lab-node-2'],
    ['another address may go to another node', '192.168.10.0', three, 'lab-node-1'],
    ['the order of the input does not matter', '192.168.1.240', [...three].reverse(), 'lab-node-3'],
    ['a node listed twice counts once', '192.168.1.240', ['lab-node-3', ...three], 'lab-node-3'],
    ['a non-canonical IPv6 spelling elects as its canonical form', 'FD00:1:0:0::240', three, 'lab-node-2'],
  ];
  for (const [name, ip, nodes, owner] of cases) {
    it(name, () => assert.equal(electOwner(ip, nodes), owner));
  }
});

describe('electionOrder', () => {
  it('starts with the owner and lists each node once', () => {
    const order = electionOrder('192.168.1.240', [...three, 'lab-node-1']);
    assert.equal(order[0], electOwner('192.168.1.240', three));
    assert.deepEqual([...order].sort(), three);
  });
  it('the next in line is the owner once the owner leaves', () => {
    const order = electionOrder('fd00:1::240', three);
    assert.equal(electOwner('fd00:1::240', three.filter((n) => n !== order[0])), order[1]);
  });
});

describe('canonicalIP', () => {
  const cases: ReadonlyArray<[string, string, string]> = [
    ['IPv4 stays as it is', '192.168.1.240', '192.168.1.240'],
    ['IPv6 is compressed and lower-cased (RFC 5952, as Go prints it)', 'FD00:0001:0000:0000:0000:0000:0000:0240', 'fd00:1::240'],
    ['text that is no address is kept', 'not-an-ip', 'not-an-ip'],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.equal(canonicalIP(input), expected));
});

describe('ownership moves as little as possible (rendezvous hashing)', () => {
  const addresses = Array.from({ length: 1000 }, (_, i) => `10.${(i >> 8) & 0xff}.${i & 0xff}.7`);
  const nodes = Array.from({ length: 5 }, (_, i) => `worker-${i + 1}`);
  const owners = (eligible: readonly string[]): string[] => addresses.map((ip) => electOwner(ip, eligible)!);
  const before = owners(nodes);

  it('spreads addresses over every node', () => {
    for (const node of nodes) {
      const share = before.filter((owner) => owner === node).length;
      assert.ok(share > 120 && share < 280, `${node} owns ${share} of 1000`);
    }
  });

  it('removing a node moves only the addresses it owned, and every other address stays put', () => {
    const leaving = 'worker-3';
    const after = owners(nodes.filter((n) => n !== leaving));
    addresses.forEach((ip, i) => {
      if (before[i] !== leaving) assert.equal(after[i], before[i], `${ip} moved though its owner stayed`);
      else assert.notEqual(after[i], leaving);
    });
  });

  it('adding a node moves only the addresses it wins, each to the new node', () => {
    const after = owners([...nodes, 'worker-6']);
    let moved = 0;
    addresses.forEach((ip, i) => {
      if (after[i] !== before[i]) {
        moved++;
        assert.equal(after[i], 'worker-6', `${ip} moved to an old node`);
      }
    });
    // About 1/6 of the addresses; anything near that shows no mass reshuffle.
    assert.ok(moved > 100 && moved < 250, `${moved} of 1000 moved`);
  });

  it('Services sharing an address get one owner: the election sees the address, not the Service', () => {
    assert.equal(electOwner('10.0.0.7', nodes), electOwner('10.0.0.7', [...nodes]));
  });
});
