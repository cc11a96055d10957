// The guides' pools and the usable count each guide states or implies, keyed `pool@file-prefix`: checked
// offline by the validation unit test and against the lab by e2e/api.e2e.ts.

export const guideCapacity: Readonly<Record<string, number>> = {
  'production-pool@000-01': 16, // "A /28 gives 16 addresses"
  'staging-pool@000-02': 5, // "Five addresses: .200 through .204"
  'mixed-pool@000-03': 10, // 4 from the CIDR + 6 from the range
  'production-pool@000-06': 16,
  'staging-pool@000-06': 5,
  'local-network-pool@001-01': 16, // "16 IPs (192.168.1.240 through 192.168.1.255)"
  'production-pool@001-02': 87, // 51 + 21 + 16, minus 10.0.0.0 for avoidBuggyIPs
  'database-pool@001-03': 10,
  'primary-pool@001-07': 15, // "16 IPs", minus 192.168.1.255 for avoidBuggyIPs
  'priority-pool@001-07': 5, // "5 IPs reserved"
  'web-services-pool@001-08': 20,
  'internal-services-pool@001-08': 10,
};
