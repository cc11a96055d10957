// What l2lb's programs asked of the API server, read from its audit log (e2e/controlplane.ts): one JSON
// line per completed request of the speaker and controller ServiceAccounts, with the user agent that
// names the program and node (`l2lb-speaker/<node>`).

import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

export interface AuditEntry {
  readonly userAgent: string;
  readonly verb: string;
  readonly resource: string;
  readonly receivedMs: number;
}

export function readAudit(path: string): AuditEntry[] {
  try {
    return parseAudit(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** The entries in the last `bytes` of the log (a recent window without parsing a log of gigabytes). */
export function readAuditTail(path: string, bytes: number): AuditEntry[] {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    const text = buffer.toString('utf8');
    return parseAudit(start === 0 ? text : text.slice(text.indexOf('\n') + 1)); // the first line is cut
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function parseAudit(text: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const event = JSON.parse(line) as { userAgent?: string; verb?: string; objectRef?: { resource?: string; subresource?: string }; requestReceivedTimestamp?: string };
      entries.push({
        userAgent: event.userAgent ?? '', verb: event.verb ?? '',
        resource: [event.objectRef?.resource, event.objectRef?.subresource].filter(Boolean).join('/'),
        receivedMs: Date.parse(event.requestReceivedTimestamp ?? ''),
      });
    } catch {
      // a line being written
    }
  }
  return entries;
}

/** Requests per user agent received in [fromMs, toMs). */
export function requestsByAgent(entries: readonly AuditEntry[], fromMs: number, toMs: number): Map<string, AuditEntry[]> {
  const byAgent = new Map<string, AuditEntry[]>();
  for (const entry of entries) {
    if (entry.receivedMs < fromMs || entry.receivedMs >= toMs) continue;
    byAgent.set(entry.userAgent, [...(byAgent.get(entry.userAgent) ?? []), entry]);
  }
  return byAgent;
}
