// Manifests l2lb must refuse, each with the message it must give. The unit tests run them against the
// pure validator; e2e applies them to a real API server with the webhook installed. `existing` are pools
// to create first (they are valid), for the cases that are wrong only next to another pool.
// `rejectedBy: 'api-server'` marks what the CRD schema (or kubectl's strict field validation) already
// refuses before the webhook is called: there only the rejection and the field are guaranteed, since the
// API server words its own message; `l2lb validate` gives `expectedMessage` for those offline.

export interface BadManifestCase {
  readonly name: string;
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly expectedMessage: string | RegExp;
  readonly rejectedBy: 'webhook' | 'api-server';
  readonly existing?: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

const apiVersion = 'metallb.io/v1beta1';
const namespace = 'metallb-system';

function pool(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion, kind: 'IPAddressPool', metadata: { name, namespace, ...metadata }, spec };
}

function advertisement(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion, kind: 'L2Advertisement', metadata: { name, namespace, ...metadata }, spec };
}

const production = pool('production-pool', { addresses: ['192.168.1.240/28'] });
const ipv6Pool = pool('ipv6-pool', { addresses: ['fd00:1::/120'] });
const selectorWith = (expression: Record<string, unknown>) => ({ nodeSelectors: [{ matchExpressions: [expression] }] });

export const badManifests: readonly BadManifestCase[] = [
  // Addresses that do not parse.
  {
    name: 'an IPv4 octet above 255 in a CIDR',
    manifest: pool('staging-pool', { addresses: ['192.168.1.200-192.168.1.204', '10.0.0.300/30'] }),
    expectedMessage: 'ipaddresspool "staging-pool": spec.addresses[1] "10.0.0.300/30": not an IP prefix',
    rejectedBy: 'webhook',
  },
  {
    name: 'an IPv4 prefix length above 32',
    manifest: pool('wide-pool', { addresses: ['10.0.0.0/33'] }),
    expectedMessage: 'ipaddresspool "wide-pool": spec.addresses[0] "10.0.0.0/33": prefix length 33 exceeds 32',
    rejectedBy: 'webhook',
  },
  {
    name: 'an IPv6 prefix length above 128',
    manifest: pool('wide-v6-pool', { addresses: ['fd00:1::/129'] }),
    expectedMessage: 'ipaddresspool "wide-v6-pool": spec.addresses[0] "fd00:1::/129": prefix length 129 exceeds 128',
    rejectedBy: 'webhook',
  },
  {
    name: 'a range whose start is after its end',
    manifest: pool('backwards-pool', { addresses: ['192.168.1.20-192.168.1.10'] }),
    expectedMessage: 'ipaddresspool "backwards-pool": spec.addresses[0] "192.168.1.20-192.168.1.10": range start is after its end',
    rejectedBy: 'webhook',
  },
  {
    name: 'a range from an IPv4 to an IPv6 address',
    manifest: pool('mixed-range-pool', { addresses: ['192.168.1.10-fd00:1::10'] }),
    expectedMessage: 'ipaddresspool "mixed-range-pool": spec.addresses[0] "192.168.1.10-fd00:1::10": range mixes IPv4 and IPv6',
    rejectedBy: 'webhook',
  },
  {
    name: 'a word where an address belongs',
    manifest: pool('word-pool', { addresses: ['gateway'] }),
    expectedMessage: 'ipaddresspool "word-pool": spec.addresses[0] "gateway": not an IP address, prefix or range',
    rejectedBy: 'webhook',
  },
  {
    name: 'an IPv4 address with a leading zero (ambiguous: octal to some parsers)',
    manifest: pool('octal-pool', { addresses: ['192.168.001.10'] }),
    expectedMessage: 'ipaddresspool "octal-pool": spec.addresses[0] "192.168.001.10": not an IP address, prefix or range',
    rejectedBy: 'webhook',
  },
  {
    name: 'a range with a malformed end',
    manifest: pool('half-range-pool', { addresses: ['192.168.1.10-192.168.1'] }),
    expectedMessage: 'ipaddresspool "half-range-pool": spec.addresses[0] "192.168.1.10-192.168.1": not an IP range',
    rejectedBy: 'webhook',
  },
  {
    name: 'an IPv6 address with two "::"',
    manifest: pool('double-colon-pool', { addresses: ['fd00::1::2/128'] }),
    expectedMessage: 'ipaddresspool "double-colon-pool": spec.addresses[0] "fd00::1::2/128": not an IP prefix',
    rejectedBy: 'webhook',
  },
  {
    name: 'an empty address list',
    manifest: pool('empty-pool', { addresses: [] }),
    expectedMessage: 'ipaddresspool "empty-pool": spec.addresses: must list at least one CIDR, range or address',
    rejectedBy: 'webhook',
  },
  // Overlaps inside one pool and across pools.
  {
    name: 'the same CIDR twice in one pool',
    manifest: pool('twice-pool', { addresses: ['192.168.1.240/28', '192.168.1.240/28'] }),
    expectedMessage: 'ipaddresspool "twice-pool": spec.addresses[1] "192.168.1.240/28": duplicate of spec.addresses[0] "192.168.1.240/28"',
    rejectedBy: 'webhook',
  },
  {
    name: 'the same block as a CIDR and as a range in one pool',
    manifest: pool('spelled-twice-pool', { addresses: ['192.168.1.240/28', '192.168.1.240-192.168.1.255'] }),
    expectedMessage: 'ipaddresspool "spelled-twice-pool": spec.addresses[1] "192.168.1.240-192.168.1.255": duplicate of spec.addresses[0] "192.168.1.240/28"',
    rejectedBy: 'webhook',
  },
  {
    name: 'a range inside a CIDR of the same pool',
    manifest: pool('nested-pool', { addresses: ['192.168.1.240/28', '192.168.1.250-192.168.1.252'] }),
    expectedMessage: 'ipaddresspool "nested-pool": spec.addresses[1] "192.168.1.250-192.168.1.252": overlaps spec.addresses[0] "192.168.1.240/28"',
    rejectedBy: 'webhook',
  },
  {
    name: 'IPv6 entries of one pool that overlap',
    manifest: pool('v6-nested-pool', { addresses: ['fd00:2::/64', 'fd00:2::10-fd00:2::20'] }),
    expectedMessage: 'ipaddresspool "v6-nested-pool": spec.addresses[1] "fd00:2::10-fd00:2::20": overlaps spec.addresses[0] "fd00:2::/64"',
    rejectedBy: 'webhook',
  },
  {
    name: 'a range that overlaps another pool (IPv4)',
    manifest: pool('staging-pool', { addresses: ['192.168.1.250-192.168.1.251'] }),
    existing: [production],
    expectedMessage: 'ipaddresspool "staging-pool": spec.addresses[0] "192.168.1.250-192.168.1.251": overlaps ipaddresspool "production-pool" spec.addresses[0] "192.168.1.240/28" (192.168.1.240-192.168.1.255)',
    rejectedBy: 'webhook',
  },
  {
    name: 'a single address inside another pool',
    manifest: pool('single-pool', { addresses: ['192.168.1.255'] }),
    existing: [production],
    expectedMessage: 'ipaddresspool "single-pool": spec.addresses[0] "192.168.1.255": overlaps ipaddresspool "production-pool"',
    rejectedBy: 'webhook',
  },
  {
    name: 'a CIDR that contains another pool',
    manifest: pool('supernet-pool', { addresses: ['192.168.1.0/24'] }),
    existing: [production],
    expectedMessage: 'ipaddresspool "supernet-pool": spec.addresses[0] "192.168.1.0/24": overlaps ipaddresspool "production-pool"',
    rejectedBy: 'webhook',
  },
  {
    name: 'a range that overlaps another pool (IPv6)',
    manifest: pool('v6-staging-pool', { addresses: ['fd00:1::80-fd00:1::1ff'] }),
    existing: [ipv6Pool],
    expectedMessage: 'ipaddresspool "v6-staging-pool": spec.addresses[0] "fd00:1::80-fd00:1::1ff": overlaps ipaddresspool "ipv6-pool" spec.addresses[0] "fd00:1::/120" (fd00:1::-fd00:1::ff)',
    rejectedBy: 'webhook',
  },
  // Where the objects live.
  {
    name: 'a pool outside metallb-system',
    manifest: pool('default-pool', { addresses: ['192.168.1.100/30'] }, { namespace: 'default' }),
    expectedMessage: 'ipaddresspool "default-pool": metadata.namespace "default": must be "metallb-system"',
    rejectedBy: 'webhook',
  },
  {
    name: 'an advertisement outside metallb-system',
    manifest: advertisement('default-advertisement', {}, { namespace: 'kube-system' }),
    expectedMessage: 'l2advertisement "default-advertisement": metadata.namespace "kube-system": must be "metallb-system"',
    rejectedBy: 'webhook',
  },
  // Schema violations, in the same words.
  {
    name: 'autoAssign written as a string',
    manifest: pool('string-pool', { addresses: ['192.168.1.100/30'], autoAssign: 'yes' }),
    expectedMessage: 'ipaddresspool "string-pool": spec.autoAssign "yes": must be boolean',
    rejectedBy: 'api-server',
  },
  {
    name: 'avoidBuggyIPs written as a number',
    manifest: pool('number-pool', { addresses: ['192.168.1.100/30'], avoidBuggyIPs: 1 }),
    expectedMessage: 'ipaddresspool "number-pool": spec.avoidBuggyIPs 1: must be boolean',
    rejectedBy: 'api-server',
  },
  {
    name: 'addresses as one string instead of a list',
    manifest: pool('scalar-pool', { addresses: '192.168.1.100/30' }),
    expectedMessage: 'ipaddresspool "scalar-pool": spec.addresses "192.168.1.100/30": must be array',
    rejectedBy: 'api-server',
  },
  {
    name: 'a pool without addresses',
    manifest: pool('no-addresses-pool', { autoAssign: false }),
    expectedMessage: 'ipaddresspool "no-addresses-pool": spec.addresses: is required',
    rejectedBy: 'api-server',
  },
  {
    name: 'a misspelt field (adresses)',
    manifest: pool('typo-pool', { adresses: ['192.168.1.100/30'], addresses: ['192.168.1.104/30'] }),
    expectedMessage: 'ipaddresspool "typo-pool": spec.adresses: unknown field',
    rejectedBy: 'api-server',
  },
  {
    name: 'a serviceAllocation priority that is not an integer',
    manifest: pool('priority-pool', { addresses: ['192.168.1.100/30'], serviceAllocation: { priority: 'high' } }),
    expectedMessage: 'ipaddresspool "priority-pool": spec.serviceAllocation.priority "high": must be integer',
    rejectedBy: 'api-server',
  },
  {
    name: 'ipAddressPools as one string instead of a list',
    manifest: advertisement('scalar-advertisement', { ipAddressPools: 'production-pool' }),
    expectedMessage: 'l2advertisement "scalar-advertisement": spec.ipAddressPools "production-pool": must be array',
    rejectedBy: 'api-server',
  },
  {
    name: 'a selector requirement without an operator',
    manifest: advertisement('no-operator-advertisement', selectorWith({ key: 'network-zone', values: ['dmz'] })),
    expectedMessage: 'l2advertisement "no-operator-advertisement": spec.nodeSelectors[0].matchExpressions[0].operator: is required',
    rejectedBy: 'api-server',
  },
  // serviceAllocation lists.
  {
    name: 'a namespace listed twice in serviceAllocation',
    manifest: pool('web-pool', { addresses: ['192.168.1.100/30'], serviceAllocation: { namespaces: ['web', 'web'] } }),
    expectedMessage: 'ipaddresspool "web-pool": spec.serviceAllocation.namespaces[1] "web": duplicate of spec.serviceAllocation.namespaces[0]',
    rejectedBy: 'webhook',
  },
  {
    name: 'a namespace name that cannot exist',
    manifest: pool('bad-namespace-pool', { addresses: ['192.168.1.100/30'], serviceAllocation: { namespaces: ['Web_Apps'] } }),
    expectedMessage: 'ipaddresspool "bad-namespace-pool": spec.serviceAllocation.namespaces[0] "Web_Apps": not a valid namespace name',
    rejectedBy: 'webhook',
  },
  {
    name: 'a namespace selector with an unknown operator',
    manifest: pool('equals-pool', {
      addresses: ['192.168.1.100/30'],
      serviceAllocation: { namespaceSelectors: [{ matchExpressions: [{ key: 'team', operator: 'Equals', values: ['web'] }] }] },
    }),
    expectedMessage: 'ipaddresspool "equals-pool": spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].operator "Equals": not a valid selector operator: must be one of In, NotIn, Exists, DoesNotExist',
    rejectedBy: 'webhook',
  },
  {
    name: 'a service selector with an invalid label value',
    manifest: pool('service-selector-pool', {
      addresses: ['192.168.1.100/30'],
      serviceAllocation: { serviceSelectors: [{ matchLabels: { app: 'web app' } }] },
    }),
    expectedMessage: 'ipaddresspool "service-selector-pool": spec.serviceAllocation.serviceSelectors[0].matchLabels.app "web app": not a valid label value',
    rejectedBy: 'webhook',
  },
  // L2Advertisement selectors.
  {
    name: 'Exists with values',
    manifest: advertisement('exists-advertisement', selectorWith({ key: 'network-zone', operator: 'Exists', values: ['dmz'] })),
    expectedMessage: 'l2advertisement "exists-advertisement": spec.nodeSelectors[0].matchExpressions[0].values "dmz": must be empty when operator is Exists',
    rejectedBy: 'webhook',
  },
  {
    name: 'DoesNotExist with values',
    manifest: advertisement('absent-advertisement', selectorWith({ key: 'network-zone', operator: 'DoesNotExist', values: ['dmz'] })),
    expectedMessage: 'l2advertisement "absent-advertisement": spec.nodeSelectors[0].matchExpressions[0].values "dmz": must be empty when operator is DoesNotExist',
    rejectedBy: 'webhook',
  },
  {
    name: 'In with no values',
    manifest: advertisement('empty-in-advertisement', selectorWith({ key: 'topology.kubernetes.io/zone', operator: 'In', values: [] })),
    expectedMessage: 'l2advertisement "empty-in-advertisement": spec.nodeSelectors[0].matchExpressions[0].values []: must be non-empty when operator is In',
    rejectedBy: 'webhook',
  },
  {
    name: 'NotIn without values in a pool selector',
    manifest: advertisement('empty-notin-advertisement', {
      ipAddressPoolSelectors: [{ matchExpressions: [{ key: 'environment', operator: 'NotIn' }] }],
    }),
    expectedMessage: 'l2advertisement "empty-notin-advertisement": spec.ipAddressPoolSelectors[0].matchExpressions[0].values []: must be non-empty when operator is NotIn',
    rejectedBy: 'webhook',
  },
  {
    name: 'a lowercase operator',
    manifest: advertisement('lowercase-advertisement', selectorWith({ key: 'network-zone', operator: 'in', values: ['dmz'] })),
    expectedMessage: 'l2advertisement "lowercase-advertisement": spec.nodeSelectors[0].matchExpressions[0].operator "in": not a valid selector operator',
    rejectedBy: 'webhook',
  },
  {
    name: 'a label key with a space',
    manifest: advertisement('space-key-advertisement', { nodeSelectors: [{ matchLabels: { 'network zone': 'dmz' } }] }),
    expectedMessage: 'l2advertisement "space-key-advertisement": spec.nodeSelectors[0].matchLabels "network zone": not a valid label key',
    rejectedBy: 'webhook',
  },
  {
    name: 'a label key with an uppercase prefix',
    manifest: advertisement('prefix-advertisement', selectorWith({ key: 'Example.COM/zone', operator: 'Exists' })),
    expectedMessage: 'l2advertisement "prefix-advertisement": spec.nodeSelectors[0].matchExpressions[0].key "Example.COM/zone": not a valid label key: the prefix must be a lowercase DNS subdomain',
    rejectedBy: 'webhook',
  },
  {
    name: 'a label key name longer than 63 characters',
    manifest: advertisement('long-key-advertisement', selectorWith({ key: `zone-${'x'.repeat(60)}`, operator: 'Exists' })),
    expectedMessage: /^l2advertisement "long-key-advertisement": spec\.nodeSelectors\[0\]\.matchExpressions\[0\]\.key "zone-x+\.*": not a valid label key: the name part is longer than 63 characters$/,
    rejectedBy: 'webhook',
  },
  {
    name: 'a label value ending in punctuation',
    manifest: advertisement('bang-value-advertisement', { nodeSelectors: [{ matchLabels: { 'network-zone': 'dmz!' } }] }),
    expectedMessage: 'l2advertisement "bang-value-advertisement": spec.nodeSelectors[0].matchLabels.network-zone "dmz!": not a valid label value',
    rejectedBy: 'webhook',
  },
  {
    name: 'an In value that is not a label value',
    manifest: advertisement('bad-in-value-advertisement', selectorWith({ key: 'zone', operator: 'In', values: ['zone-a', '-zone-b'] })),
    expectedMessage: 'l2advertisement "bad-in-value-advertisement": spec.nodeSelectors[0].matchExpressions[0].values[1] "-zone-b": not a valid label value',
    rejectedBy: 'webhook',
  },
  {
    name: 'the same node selector twice',
    manifest: advertisement('twice-selector-advertisement', {
      nodeSelectors: [{ matchLabels: { 'network-zone': 'dmz' } }, { matchLabels: { 'network-zone': 'dmz' } }],
    }),
    expectedMessage: 'l2advertisement "twice-selector-advertisement": spec.nodeSelectors[1]: duplicate of spec.nodeSelectors[0]',
    rejectedBy: 'webhook',
  },
  // L2Advertisement lists.
  {
    name: 'a pool named twice',
    manifest: advertisement('twice-pool-advertisement', { ipAddressPools: ['production-pool', 'production-pool'] }),
    expectedMessage: 'l2advertisement "twice-pool-advertisement": spec.ipAddressPools[1] "production-pool": duplicate of spec.ipAddressPools[0]',
    rejectedBy: 'webhook',
  },
  {
    name: 'a pool name that no object can have',
    manifest: advertisement('bad-pool-name-advertisement', { ipAddressPools: ['Production_Pool'] }),
    expectedMessage: 'l2advertisement "bad-pool-name-advertisement": spec.ipAddressPools[0] "Production_Pool": not a valid pool name',
    rejectedBy: 'webhook',
  },
  {
    name: 'an interface listed twice',
    manifest: advertisement('twice-interface-advertisement', { interfaces: ['eth0', 'bond0', 'eth0'] }),
    expectedMessage: 'l2advertisement "twice-interface-advertisement": spec.interfaces[2] "eth0": duplicate of spec.interfaces[0]',
    rejectedBy: 'webhook',
  },
  {
    name: 'an interface name longer than Linux allows',
    manifest: advertisement('long-interface-advertisement', { interfaces: ['enp0s31f6-uplink-1'] }),
    expectedMessage: 'l2advertisement "long-interface-advertisement": spec.interfaces[0] "enp0s31f6-uplink-1": not a valid interface name',
    rejectedBy: 'webhook',
  },
  {
    name: 'an interface name with a slash',
    manifest: advertisement('slash-interface-advertisement', { interfaces: ['eth0/1'] }),
    expectedMessage: 'l2advertisement "slash-interface-advertisement": spec.interfaces[0] "eth0/1": not a valid interface name',
    rejectedBy: 'webhook',
  },
];
