// arp/'s public surface for the announcer: who answers for what, where, and what it counted.
// Codecs and decisions are importable from their own files (tests, tools); these are what a node runs.
export { GRATUITOUS_SCHEDULE_MS, INTERFACE_RESCAN_MS, L2Announcer } from './announcer.js';
export type {
  AnnounceResult, InterfaceProblem, L2AnnouncerOptions, L2Health, LinkEvents, Responder, ResponderHooks, ResponderStatus,
} from './announcer.js';
export type { LinkEvent } from './packet-socket.js';
export { Layer2Counters } from './counters.js';
export type { Layer2CountersSnapshot } from './counters.js';
export { DEFAULT_EXCLUDED_INTERFACES, discoverInterfaces, interfaceUsability } from './interfaces.js';
export type { Discovery, InterfaceFacts, InterfaceSelection, NetworkInterface, Usability } from './interfaces.js';
