// Events (events.k8s.io/v1) about the objects we manage. Repeats of the same event on the same object are
// aggregated the way the API intends: one Event whose `series` counts them, patched at most once per
// flush interval, so an error that recurs on every retry cannot flood the API server.
// Recording never blocks or fails a reconcile: writes happen in the background and failures are logged.
// Creates go out a few at a time from a bounded queue, as client-go's recorder does (its
// maxQueuedEvents is 1,000): a speaker that gains 5,000 addresses at once records 5,000 Events, and
// fired all at once they held 5,000 requests in memory behind the client's sockets, ahead of its status
// writes. Past the bound an Event is dropped and counted: Events are best-effort, memory is not.

import { randomBytes } from 'node:crypto';
import type { KubeClient } from './kube-client.js';
import { microTime } from './leader.js';
import { errorText, type Logger } from './log.js';
import { apiVersionOf, Events, type KubeObject, type ResourceType } from './resources.js';

export type EventType = 'Normal' | 'Warning';

export interface EventSpec {
  readonly type: EventType;
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

interface Series {
  readonly name: string;
  readonly namespace: string;
  count: number;
  lastObserved: Date;
  flushedCount: number;
  timer: NodeJS.Timeout | undefined;
  created: Promise<boolean>;
}

const SERIES_WINDOW_MS = 30 * 60_000; // after half an hour of quiet a repeat starts a new Event
const FLUSH_INTERVAL_MS = 10_000; // at most one series update per Event every 10 s
const DROP_LOG_INTERVAL_MS = 60_000;

export interface EventQueueLimits {
  /** Creates on the wire at once (they share the client's connections with everything else). */
  readonly inFlight: number;
  /** Creates waiting beyond those; past this, Events are dropped. */
  readonly queued: number;
}

export const defaultEventQueueLimits: EventQueueLimits = { inFlight: 4, queued: 1_000 };

interface QueuedCreate {
  readonly body: KubeObject;
  readonly describe: { readonly reason: string; readonly object: string };
  readonly done: (created: boolean) => void;
}

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly waiting: QueuedCreate[] = [];
  private inFlight = 0;
  /** Events dropped because the queue was full, since start. */
  dropped = 0;
  private droppedLoggedAt = -Infinity;

  constructor(
    private readonly client: Pick<KubeClient, 'create' | 'patch'>,
    private readonly reportingController: string,
    private readonly reportingInstance: string,
    private readonly logger: Logger,
    private readonly flushIntervalMs = FLUSH_INTERVAL_MS,
    private readonly limits: EventQueueLimits = defaultEventQueueLimits,
  ) {}

  record(type: ResourceType, regarding: KubeObject, event: EventSpec): void {
    const { namespace = 'default', name = '', uid = '' } = regarding.metadata;
    const key = [uid, namespace, name, event.type, event.reason, event.note].join('\u0000');
    const now = new Date();
    const existing = this.series.get(key);
    if (existing !== undefined && now.getTime() - existing.lastObserved.getTime() < SERIES_WINDOW_MS) {
      existing.count++;
      existing.lastObserved = now;
      existing.timer ??= setTimeout(() => void this.flush(existing), this.flushIntervalMs);
      return;
    }
    if (this.waiting.length >= this.limits.queued) return this.noteDropped(now.getTime());
    const eventName = `${name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: eventName, namespace },
      eventTime: microTime(now),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      action: event.action,
      reason: event.reason,
      note: event.note.slice(0, 1024),
      type: event.type,
      regarding: { apiVersion: apiVersionOf(type), kind: type.kind, namespace, name, uid, resourceVersion: regarding.metadata.resourceVersion },
    };
    const created = new Promise<boolean>((done) => this.waiting.push({ body, describe: { reason: event.reason, object: `${namespace}/${name}` }, done }));
    this.pump();
    this.series.set(key, { name: eventName, namespace, count: 1, lastObserved: now, flushedCount: 1, timer: undefined, created });
    this.forgetOldSeries(now);
  }

  private pump(): void {
    while (this.inFlight < this.limits.inFlight && this.waiting.length > 0) {
      const { body, describe, done } = this.waiting.shift()!;
      this.inFlight++;
      void this.client.create(Events, body).then(() => true, (error: unknown) => {
        this.logger.warn('could not record event', { ...describe, error: errorText(error) });
        return false;
      }).then((created) => {
        this.inFlight--;
        done(created);
        this.pump();
      });
    }
  }

  private noteDropped(nowMs: number): void {
    this.dropped++;
    if (nowMs - this.droppedLoggedAt < DROP_LOG_INTERVAL_MS) return;
    this.droppedLoggedAt = nowMs;
    this.logger.warn('events dropped: too many waiting to be written', { waiting: this.waiting.length, droppedSinceStart: this.dropped });
  }

  private async flush(series: Series): Promise<void> {
    series.timer = undefined;
    if (!(await series.created) || series.count === series.flushedCount) return;
    const count = series.count;
    try {
      await this.client.patch(Events, series.namespace, series.name,
        { series: { count, lastObservedTime: microTime(series.lastObserved) } });
      series.flushedCount = count;
    } catch (error) {
      this.logger.warn('could not update event series', { event: series.name, error: errorText(error) });
    }
  }

  private forgetOldSeries(now: Date): void {
    if (this.series.size < 1000) return;
    for (const [key, series] of this.series) {
      if (now.getTime() - series.lastObserved.getTime() > SERIES_WINDOW_MS && series.timer === undefined) this.series.delete(key);
    }
  }

  /** Writes pending series counts now (on shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.series.values()].filter((s) => s.timer !== undefined).map((s) => {
      clearTimeout(s.timer);
      return this.flush(s);
    }));
  }
}
