// A small REST client for the Kubernetes API over the credentials operator/kit/kubeconfig.ts reads (and
// client-node for exotic ones). We do not use client-node's typed APIs: the kit needs streaming watches
// with its own deadlines, server-side apply on any subresource, and one keep-alive connection pool.

import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { ApiBreaker, isUnreachable } from './api-breaker.js';
import type { ClusterAccess } from './kubeconfig.js';
import { kitMetrics } from './metrics.js';
import { traceHeaders } from './tracing.js';
import { int64Json } from './int64.js';
import { apiVersionOf, resourcePath, type KubeObject, type ResourceType } from './resources.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A write refused before it was sent: the guard (leadership's fence) said this process may not write. */
export class WriteFencedError extends Error {
  constructor(readonly method: string, readonly path: string, readonly reason: string) {
    super(`${method} ${path}: not sent: ${reason}`);
    this.name = 'WriteFencedError';
  }
}

/** Per-call options of the simple verbs: an abort (e.g. at a renewal deadline) and a timeout. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** Says why a write must not go out now, or undefined when it may. Checked synchronously just before
 *  each write is sent, so a process that wakes up after being frozen cannot slip one out. */
export type WriteGuard = () => string | undefined;

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof ApiError && error.status === status;
}

interface WatchErrorStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  readonly object: T;
}

export interface ListResult<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

/** Which objects a list or a watch returns. A watch must carry the same selectors as the list it resumes,
 *  or every object of the namespace enters the cache with the first watch event. */
export interface Selectors {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ListPageOptions extends Selectors {
  readonly namespace?: string;
  /** At most this many items; the rest follow with `continue`. */
  readonly limit?: number;
  /** The token of the previous page; it expires (410) once the list's snapshot is compacted away. */
  readonly continue?: string;
  readonly signal?: AbortSignal;
}

export interface ListPage<T> extends ListResult<T> {
  /** Set when more pages follow. */
  readonly continue?: string;
}

/** Pages of this size keep each list response (and the API server's memory for it) bounded. */
export const LIST_PAGE_SIZE = 500;

export interface WatchOptions extends Selectors {
  readonly resourceVersion: string;
  readonly timeoutSeconds: number;
  readonly namespace?: string;
  readonly signal: AbortSignal;
}

interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly signal?: AbortSignal;
  /** Gives up when no response has arrived by then. Watches pass none and use their own deadline. */
  readonly timeoutMs?: number;
}

const AUTH_REFRESH_MS = 60_000; // projected ServiceAccount tokens rotate; re-read them every minute

export class KubeClient {
  private readonly server: URL;
  private readonly agent: http.Agent;
  private authHeaders: Record<string, string> = {};
  private authReadAt = 0;
  private writeGuard: WriteGuard | undefined;
  /** Shared by every request and every view of this client: one retry schedule while the server is away. */
  private readonly breaker = new ApiBreaker();

  private constructor(
    private readonly access: ClusterAccess,
    private readonly tls: https.AgentOptions,
    private readonly userAgent: string,
  ) {
    this.server = new URL(access.server);
    this.agent = this.newAgent(32);
  }

  private newAgent(maxSockets: number): http.Agent {
    return this.server.protocol === 'https:'
      ? new https.Agent({ ...this.tls, keepAlive: true, maxSockets })
      : new http.Agent({ keepAlive: true, maxSockets });
  }

  static async create(access: ClusterAccess, userAgent = 'l2lb'): Promise<KubeClient> {
    return new KubeClient(access, access.tls, userAgent);
  }

  /** A view of this client (same connections and credentials) whose writes — every method but GET —
   *  are refused with WriteFencedError while `guard` gives a reason. Leader-only work writes through it. */
  withWriteGuard(guard: WriteGuard): KubeClient {
    // Delegates to this client through the prototype chain: one agent, one credential cache.
    const view = Object.create(this) as KubeClient;
    view.writeGuard = guard;
    return view;
  }

  /** A view of this client (same credentials, same retry schedule) with connections of its own, for the
   *  few requests that must never queue behind a storm of others: a Lease renewal waiting for a socket
   *  behind hundreds of status writes once missed its renew deadline and cost the leader its lease
   *  (client-go gives leader election a client of its own for the same reason). Closing either closes
   *  every connection. */
  withOwnConnections(maxSockets = 2): KubeClient {
    const view = Object.create(this) as KubeClient;
    const agent = this.newAgent(maxSockets);
    Object.defineProperty(view, 'agent', { value: agent });
    this.ownConnections.push(agent);
    return view;
  }

  /** Agents of views made by withOwnConnections, destroyed with this client. */
  private readonly ownConnections: http.Agent[] = [];

  private async headers(): Promise<Record<string, string>> {
    if (Date.now() - this.authReadAt > AUTH_REFRESH_MS) {
      this.authHeaders = await this.access.authHeaders();
      this.authReadAt = Date.now();
    }
    return this.authHeaders;
  }

  private async open(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    // int64Json writes saturated int64 counts (a /64 pool's size) exactly; JSON.stringify would round them.
    // A Buffer goes as it is (a body that is not the JSON of any object, e.g. with a key twice).
    const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(int64Json(options.body));
    const headers: Record<string, string> = {
      ...(await this.headers()),
      ...traceHeaders(),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    if (body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    const transport = url.protocol === 'https:' ? https : http;
    const admission = await this.breaker.admit(options.signal);
    const send = (attempt: number): Promise<http.IncomingMessage> => new Promise((resolve, reject) => {
      // Last check before the request is handed to the socket (a resend too): nothing is awaited between
      // here and end(), so a process frozen and thawed checks its guard after the thaw, not before.
      const refused = method === 'GET' ? undefined : this.writeGuard?.();
      if (refused !== undefined) {
        reject(new WriteFencedError(method, path, refused));
        return;
      }
      const request = transport.request(url, { method, headers, agent: this.agent, signal: options.signal }, (response) => {
        this.breaker.succeeded();
        kitMetrics.apiRequest(method, response.statusCode ?? 0);
        resolve(response);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed just as we reused it fails before any answer:
        // the request never reached the server, so sending it once more on a fresh connection is safe.
        if (request.reusedSocket && error.code === 'ECONNRESET' && attempt === 0) resolve(send(1));
        else {
          if (isUnreachable(error)) this.breaker.failed(admission);
          kitMetrics.apiRequest(method, '<error>');
          reject(error);
        }
      });
      if (options.timeoutMs !== undefined) {
        request.setTimeout(options.timeoutMs, () => request.destroy(new Error(`${method} ${path}: no answer in ${options.timeoutMs} ms`)));
      }
      if (method === 'GET' || this.writeGuard === undefined) {
        request.end(body);
        return;
      }
      // A guarded write waits for its socket to be able to carry it (a kept-alive one, or a new one
      // connected) and asks the guard again then: end() before that only buffers the bytes, and a process
      // frozen while they wait would send them after the thaw, past the fence (the fencing e2e test saw
      // an Event POST arrive after the standby had acquired).
      request.once('socket', (socket) => {
        const ready = (): void => {
          const late = this.writeGuard?.();
          if (late === undefined) {
            request.end(body);
            return;
          }
          request.removeAllListeners('error');
          request.on('error', () => undefined);
          request.destroy();
          reject(new WriteFencedError(method, path, late));
        };
        if (!socket.connecting) ready();
        else socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', ready);
      });
    });
    return await send(0);
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.open(method, path, { timeoutMs: 30_000, ...options });
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return (text === '' ? undefined : JSON.parse(text)) as T;
    throw apiErrorFrom(method, path, status, text);
  }

  /** One page of a list. */
  async listPage<T extends KubeObject>(type: ResourceType, options: ListPageOptions): Promise<ListPage<T>> {
    const { namespace, labelSelector, fieldSelector, limit, signal } = options;
    const list = await this.request<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>(
      'GET', resourcePath(type, namespace), { query: { labelSelector, fieldSelector, limit, continue: options.continue }, signal });
    // List items carry neither apiVersion nor kind; fill them in so cached objects look like watched ones.
    const items = list.items.map((item) => ({ ...item, apiVersion: apiVersionOf(type), kind: type.kind }));
    const next = list.metadata.continue;
    return { items, resourceVersion: list.metadata.resourceVersion, ...(next !== undefined && next !== '' ? { continue: next } : {}) };
  }

  /** Every page of a list. `selectors` is a label selector, or label and field selectors; `signal`
   *  abandons the list (e.g. at a deadline). */
  async list<T extends KubeObject>(type: ResourceType, namespace?: string, selectors?: string | Selectors, signal?: AbortSignal): Promise<ListResult<T>> {
    const { labelSelector, fieldSelector } = typeof selectors === 'string' ? { labelSelector: selectors, fieldSelector: undefined } : selectors ?? {};
    const items: T[] = [];
    let token: string | undefined;
    for (;;) {
      const page: ListPage<T> = await this.listPage<T>(type, { namespace, labelSelector, fieldSelector, limit: LIST_PAGE_SIZE, continue: token, signal });
      items.push(...page.items);
      if (page.continue === undefined) return { items, resourceVersion: page.resourceVersion };
      token = page.continue;
    }
  }

  /** Streams watch events until the server closes the stream, `signal` aborts, or an error. Resolves
   *  on a clean end of the stream and rejects on anything else. */
  async watch<T>(
    type: ResourceType,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const response = await this.open('GET', resourcePath(type, options.namespace), {
      signal: options.signal,
      query: {
        watch: true,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        resourceVersion: options.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: options.timeoutSeconds,
      },
    });
    if (response.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      throw apiErrorFrom('WATCH', resourcePath(type), response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
    }
    const lines = createInterface({ input: response, crlfDelay: Infinity });
    await new Promise<void>((resolve, reject) => {
      const fail = (error: unknown): void => {
        reject(error); // first: closing the reader emits 'close', which would resolve instead
        lines.close();
        response.destroy();
      };
      response.on('error', fail);
      response.on('aborted', () => fail(new Error('watch stream aborted')));
      lines.on('close', resolve);
      lines.on('line', (line) => {
        if (line.trim() === '') return;
        try {
          const event = JSON.parse(line) as WatchEvent<T> | { type: 'ERROR'; object: WatchErrorStatus };
          // An ERROR event carries a Status (410 Gone when our resourceVersion is too old): surface it
          // as the same ApiError a failed request gives, so callers handle both alike.
          if (event.type === 'ERROR') {
            const status = event.object as WatchErrorStatus;
            fail(new ApiError(status.code ?? 0, status.reason ?? '', `WATCH ${type.plural}: ${status.code} ${status.message}`));
            return;
          }
          onEvent(event as WatchEvent<T>);
        } catch (error) {
          fail(error);
        }
      });
    });
  }

  get<T>(type: ResourceType, namespace: string | undefined, name: string, options: CallOptions = {}): Promise<T> {
    return this.request<T>('GET', resourcePath(type, namespace, name), options);
  }

  create<T extends KubeObject>(type: ResourceType, object: T, options: CallOptions = {}): Promise<T> {
    return this.request<T>('POST', resourcePath(type, object.metadata.namespace), { ...options, body: object });
  }

  update<T extends KubeObject>(type: ResourceType, object: T, options: CallOptions = {}): Promise<T> {
    return this.request<T>('PUT', resourcePath(type, object.metadata.namespace, object.metadata.name), { ...options, body: object });
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): Promise<unknown> {
    return this.request('DELETE', resourcePath(type, namespace, name));
  }

  patch<T>(type: ResourceType, namespace: string | undefined, name: string, patch: unknown,
    kind: 'merge' | 'strategic' | 'json' = 'merge', subresource?: string): Promise<T> {
    const contentType = { merge: 'application/merge-patch+json', strategic: 'application/strategic-merge-patch+json',
      json: 'application/json-patch+json' }[kind];
    return this.request<T>('PATCH', resourcePath(type, namespace, name, subresource), { body: patch, contentType });
  }

  /** Server-side apply: `object` holds exactly the fields `fieldManager` owns. */
  apply<T>(type: ResourceType, object: KubeObject, fieldManager: string, subresource?: string): Promise<T> {
    const { namespace, name } = object.metadata;
    if (name === undefined) throw new Error(`apply ${type.kind}: object has no name`);
    return this.request<T>('PATCH', resourcePath(type, namespace, name, subresource), {
      body: { apiVersion: apiVersionOf(type), kind: type.kind, ...object },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true },
    });
  }

  close(): void {
    this.agent.destroy();
    for (const agent of this.ownConnections) agent.destroy();
  }
}

function apiErrorFrom(method: string, path: string, status: number, text: string): ApiError {
  let reason = '';
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { reason?: string; message?: string };
    reason = body.reason ?? '';
    message = body.message ?? message;
  } catch {
    // not a Status object: keep the raw text
  }
  return new ApiError(status, reason, `${method} ${path}: ${status} ${reason}: ${message}`);
}
