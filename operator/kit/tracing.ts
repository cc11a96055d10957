// Spans through @opentelemetry/api only: without a registered SDK they cost nothing, and an entry point
// that calls `startTracing` (with an OTLP endpoint in its environment) gets every reconcile as a trace
// without code changes here.
//
// Configuration is OpenTelemetry's standard environment, read by the SDK itself: OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED. No endpoint means no SDK at all: not even a provider whose
// exporter would fail, so a cluster without a collector pays nothing.
//
// A trace crosses processes through the API server: the controller writes the W3C `traceparent` of the
// status write that gave a Service its address into an annotation (Tekton's pattern for PipelineRuns), the
// speaker continues the trace from it. Updates that change only that annotation never enqueue a key
// (`onlyTraceAnnotationChanged`), or every write of it would start a new reconcile and a new trace.

import {
  context, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Span,
} from '@opentelemetry/api';
import { errorText } from './log.js';

export const tracer = trace.getTracer('l2lb');

/** Where the controller leaves the trace context of a Service's last allocation. */
export const TRACE_ANNOTATION = 'l2lb.dev/traceparent';

export type TracingConfig =
  | { readonly enabled: true; readonly serviceName: string; readonly url: string }
  | { readonly enabled: false; readonly reason: string };

/** Whether to start the SDK, from the standard variables; the SDK reads the rest (sampler, endpoint) itself. */
export function tracingConfig(defaultServiceName: string, env: Readonly<Record<string, string | undefined>>): TracingConfig {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return { enabled: false, reason: 'OTEL_SDK_DISABLED=true' };
  const endpoint = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim();
  if (endpoint === '') return { enabled: false, reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT' };
  if ((env.OTEL_TRACES_EXPORTER ?? 'otlp').trim().toLowerCase() === 'none') return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  const serviceName = (env.OTEL_SERVICE_NAME ?? '').trim();
  // The specification's rule: a signal-specific endpoint is used as is, the general one gets /v1/traces.
  const tracesEndpoint = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim();
  const url = tracesEndpoint !== '' ? tracesEndpoint : `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  return { enabled: true, serviceName: serviceName === '' ? defaultServiceName : serviceName, url };
}

export interface Tracing {
  readonly config: TracingConfig;
  /** Sends what is buffered and stops; call on shutdown so the last spans are not lost. */
  shutdown(): Promise<void>;
}

/** Registers the SDK with an OTLP/HTTP (protobuf) exporter when the environment asks for it. The SDK is
 *  loaded only then, so a process without tracing never even imports it. */
export async function startTracing(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  const config = tracingConfig(defaultServiceName, env);
  if (!config.enabled) return { config, shutdown: async () => undefined };
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes, detectResources, envDetector }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-proto'),
      import('@opentelemetry/resources'),
    ]);
  // OTEL_RESOURCE_ATTRIBUTES may add attributes; the service name is ours unless OTEL_SERVICE_NAME says otherwise.
  const resource = detectResources({ detectors: [envDetector] }).merge(resourceFromAttributes({ 'service.name': config.serviceName }));
  const provider = new NodeTracerProvider({
    resource,
    // Short batches: a trace that crosses two programs is read seconds later, by people and by the e2e test.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.url }), { scheduledDelayMillis: 500 })],
  });
  provider.register(); // AsyncLocalStorage context manager and the W3C tracecontext propagator
  // Spans that cannot be delivered at exit (no collector) are lost; that is never a reason to fail a shutdown.
  return { config, shutdown: () => provider.shutdown().catch(() => undefined) };
}

/** Runs `work` inside a span named `name` (a child of the active span, or of `parent`); an exception
 *  marks the span failed and is rethrown. */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, parent?: Context): Promise<T> {
  return await tracer.startActiveSpan(name, { attributes }, parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : new Error(errorText(error)));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The active context as W3C headers (`traceparent`, `tracestate`), for API requests; empty without an SDK. */
export function traceHeaders(from: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  return carrier;
}

/** The active span's `traceparent`, or undefined when nothing is being traced (no SDK, not sampled). */
export function activeTraceparent(): string | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return undefined;
  return traceHeaders().traceparent;
}

/** The context a `traceparent` annotation carries; the root context when absent or malformed. */
export function contextFromAnnotations(annotations: Readonly<Record<string, string>> | undefined): Context {
  const traceparent = annotations?.[TRACE_ANNOTATION];
  if (traceparent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

interface Annotated {
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>>; readonly resourceVersion?: string; readonly managedFields?: unknown };
}

/** True when `current` differs from `previous` only by the trace annotation (and the bookkeeping every
 *  write changes: resourceVersion, managedFields). Such an update is our own trace write echoing back. */
export function onlyTraceAnnotationChanged(previous: Annotated, current: Annotated): boolean {
  const before = previous.metadata?.annotations?.[TRACE_ANNOTATION];
  const after = current.metadata?.annotations?.[TRACE_ANNOTATION];
  if (before === after) return false;
  return JSON.stringify(withoutTraceBookkeeping(previous)) === JSON.stringify(withoutTraceBookkeeping(current));
}

function withoutTraceBookkeeping(object: Annotated): unknown {
  const metadata = object.metadata ?? {};
  const { [TRACE_ANNOTATION]: _trace, ...annotations } = metadata.annotations ?? {};
  const { resourceVersion: _version, managedFields: _fields, annotations: _annotations, ...rest } = metadata;
  return { ...object, metadata: { ...rest, annotations } };
}
