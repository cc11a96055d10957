import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { SteadyInterfaces } from './steady-interfaces.js';

describe('SteadyInterfaces', () => {
  let usable: string[];
  let seen: string[];
  let steady: SteadyInterfaces;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    usable = ['eth0', 'eth1'];
    seen = [];
    steady = new SteadyInterfaces(() => usable, 500, (names) => seen.push(names.join(',')));
  });
  afterEach(() => {
    steady.stop();
    mock.timers.reset();
  });
  const change = (names: string[]): void => {
    usable = names;
    steady.changed();
  };

  it('starts with what the wire sees', () => {
    assert.deepEqual(steady.current(), ['eth0', 'eth1']);
    assert.deepEqual(seen, ['eth0,eth1']);
  });

  it('a 50 ms flap changes nothing', () => {
    change(['eth1']);
    mock.timers.tick(50);
    change(['eth0', 'eth1']);
    mock.timers.tick(1_000);
    assert.deepEqual(seen, ['eth0,eth1']);
  });

  it('an interface down past the grace is removed then, and added back at once when it returns', () => {
    change(['eth1']);
    mock.timers.tick(499);
    assert.deepEqual(steady.current(), ['eth0', 'eth1']);
    mock.timers.tick(1);
    assert.deepEqual(steady.current(), ['eth1']);
    change(['eth0', 'eth1']);
    assert.deepEqual(seen, ['eth0,eth1', 'eth1', 'eth0,eth1']);
  });

  it('a new interface counts at once', () => {
    change(['eth0', 'eth1', 'eth2']);
    assert.deepEqual(steady.current(), ['eth0', 'eth1', 'eth2']);
  });

  it('a flap that outlasts the grace is judged at the grace, whatever came and went meanwhile', () => {
    change(['eth1']);
    mock.timers.tick(200);
    change(['eth1', 'eth2']);
    mock.timers.tick(300);
    assert.deepEqual(steady.current(), ['eth1', 'eth2']);
  });
});
