// Reading the lab's Prometheus and Jaeger through their own HTTP APIs (the query API and Jaeger's
// /api/v3, OTLP JSON), for the e2e tests and the demo.

import { LAB_OBSERVABILITY_PORTS } from './observability.js';

const prometheus = `http://127.0.0.1:${LAB_OBSERVABILITY_PORTS.prometheus}`;
const jaeger = `http://127.0.0.1:${LAB_OBSERVABILITY_PORTS.query}`;

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** An instant query; throws with the expression when Prometheus refuses it. */
export async function promQuery(expr: string): Promise<PromSample[]> {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: PromSample[] } };
  if (body.status !== 'success') throw new Error(`prometheus: query ${JSON.stringify(expr)}: ${body.error ?? body.status}`);
  return body.data.result;
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly state: 'inactive' | 'pending' | 'firing';
}

export async function promAlerts(): Promise<PromAlert[]> {
  const body = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts;
}

interface OtlpAttribute {
  readonly key: string;
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number };
}

/** One span as Jaeger's /api/v3 returns it (OTLP JSON), with the service that sent it. */
export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly startTimeUnixNano?: string;
  readonly attributes?: readonly OtlpAttribute[];
  readonly events?: ReadonlyArray<{ readonly name: string }>;
  readonly service: string;
}

interface OtlpTraces {
  readonly result?: {
    readonly resourceSpans?: ReadonlyArray<{
      readonly resource?: { readonly attributes?: readonly OtlpAttribute[] };
      readonly scopeSpans?: ReadonlyArray<{ readonly spans?: ReadonlyArray<Omit<TraceSpan, 'service'>> }>;
    }>;
  };
}

/** The spans of every trace Jaeger holds with a span of `service` (named `operation`, if given) started
 *  since `since`, by trace id. At most 100 traces: every reconcile is a trace, so name the operation. */
export async function tracesOf(service: string, since: Date, operation?: string): Promise<Map<string, TraceSpan[]>> {
  const params = new URLSearchParams({
    'query.service_name': service,
    ...(operation === undefined ? {} : { 'query.operation_name': operation }),
    'query.start_time_min': since.toISOString(),
    'query.start_time_max': new Date(Date.now() + 60_000).toISOString(),
    'query.num_traces': '100',
  });
  const response = await fetch(`${jaeger}/api/v3/traces?${params}`);
  const traces = new Map<string, TraceSpan[]>();
  if (response.status === 404) return traces; // nothing yet
  if (!response.ok) throw new Error(`jaeger: /api/v3/traces for ${service}: HTTP ${response.status}`);
  const body = (await response.json()) as OtlpTraces;
  for (const resourceSpans of body.result?.resourceSpans ?? []) {
    const name = attribute(resourceSpans.resource?.attributes, 'service.name') ?? '?';
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const list = traces.get(span.traceId) ?? [];
        list.push({ ...span, service: name });
        traces.set(span.traceId, list);
      }
    }
  }
  return traces;
}

export function attribute(attributes: readonly OtlpAttribute[] | undefined, key: string): string | undefined {
  const value = attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : String(value.intValue));
}

/** Orders spans by start time. */
export function byStartTime(a: TraceSpan, b: TraceSpan): number {
  return Number(BigInt(a.startTimeUnixNano ?? '0') - BigInt(b.startTimeUnixNano ?? '0'));
}

/** A trace as an indented tree, parents before children, siblings by start time; events in brackets. */
export function spanTree(spans: readonly TraceSpan[]): string[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const byStart = [...spans].sort(byStartTime);
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const span of byStart.filter((s) => (parent === undefined ? !s.parentSpanId || !ids.has(s.parentSpanId) : s.parentSpanId === parent))) {
      const counts = new Map<string, number>();
      for (const event of span.events ?? []) counts.set(event.name, (counts.get(event.name) ?? 0) + 1);
      const events = [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name));
      lines.push(`${'  '.repeat(depth)}${span.service}: ${span.name}${events.length === 0 ? '' : ` [${events.join(', ')}]`}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}
