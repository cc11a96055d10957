// Spans through @opentelemetry/api only: without a registered SDK they cost nothing, and an entry point
// that registers one (with an OTLP exporter) gets every reconcile as a trace without code changes here.

import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { errorText } from './log.js';

export const tracer = trace.getTracer('l2lb');

/** Runs `work` inside a span named `name`; an exception marks the span failed and is rethrown. */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return await tracer.startActiveSpan(name, { attributes }, async (span) => {
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
