// Events (events.k8s.io/v1) about the objects we manage. Repeats of the same event on the same object are
// aggregated the way the API intends: one Event whose `series` counts them, patched at most once per
// flush interval, so an error that recurs on every retry cannot flood the API server.
// Recording never blocks or fails a reconcile: writes happen in the background and failures are logged.

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

export class EventRecorder {
  private readonly series = new Map<string, Series>();

  constructor(
    private readonly client: KubeClient,
    private readonly reportingController: string,
    private readonly reportingInstance: string,
    private readonly logger: Logger,
    private readonly flushIntervalMs = FLUSH_INTERVAL_MS,
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
    const created = this.client.create(Events, body).then(() => true, (error: unknown) => {
      this.logger.warn('could not record event', { reason: event.reason, object: `${namespace}/${name}`, error: errorText(error) });
      return false;
    });
    this.series.set(key, { name: eventName, namespace, count: 1, lastObserved: now, flushedCount: 1, timer: undefined, created });
    this.forgetOldSeries(now);
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
