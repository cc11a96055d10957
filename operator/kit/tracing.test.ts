import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import {
  activeTraceparent, contextFromAnnotations, inSpan, onlyTraceAnnotationChanged, TRACE_ANNOTATION, traceHeaders, tracingConfig,
} from './tracing.js';

describe('tracingConfig: the standard OTEL_* variables decide', () => {
  const cases: ReadonlyArray<[string, Record<string, string>, ReturnType<typeof tracingConfig>]> = [
    ['no endpoint: no SDK, no cost', {}, { enabled: false, reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT' }],
    ['an endpoint: the SDK, named after the program, sending to /v1/traces', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }, { enabled: true, serviceName: 'l2lb-controller', url: 'http://127.0.0.1:4318/v1/traces' }],
    ['a traces endpoint is used as is, and wins', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces' }, { enabled: true, serviceName: 'l2lb-controller', url: 'http://b:4318/traces' }],
    ['OTEL_SERVICE_NAME wins over the program\'s name', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'ctl' }, { enabled: true, serviceName: 'ctl', url: 'http://c:4318/v1/traces' }],
    ['OTEL_SDK_DISABLED=true wins over an endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }, { enabled: false, reason: 'OTEL_SDK_DISABLED=true' }],
    ['OTEL_SDK_DISABLED=false changes nothing', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'false' }, { enabled: true, serviceName: 'l2lb-controller', url: 'http://c:4318/v1/traces' }],
    ['OTEL_TRACES_EXPORTER=none turns it off', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' }],
    ['an empty endpoint is none', { OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }, { enabled: false, reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT' }],
  ];
  for (const [name, env, want] of cases) {
    it(name, () => assert.deepEqual(tracingConfig('l2lb-controller', env), want));
  }
});

describe('onlyTraceAnnotationChanged: the controller never reconciles its own trace write', () => {
  const base = { metadata: { name: 's', resourceVersion: '1', annotations: { 'metallb.io/ip-allocated-from-pool': 'web' } }, status: { loadBalancer: {} } };
  const withTrace = (value: string, version: string, extra: Record<string, string> = {}) => ({
    ...base, metadata: { ...base.metadata, resourceVersion: version, annotations: { ...base.metadata.annotations, ...extra, [TRACE_ANNOTATION]: value } },
  });
  const cases: ReadonlyArray<[string, object, object, boolean]> = [
    ['the annotation added, nothing else', base, withTrace('00-a-b-01', '2'), true],
    ['the annotation replaced, nothing else', withTrace('00-a-b-01', '2'), withTrace('00-c-d-01', '3'), true],
    ['the annotation removed, nothing else', withTrace('00-a-b-01', '2'), { ...base, metadata: { ...base.metadata, resourceVersion: '3' } }, true],
    ['a resync (nothing changed) still reconciles', base, base, false],
    ['the annotation and another annotation', base, withTrace('00-a-b-01', '2', { 'metallb.io/address-pool': 'x' }), false],
    ['the annotation and the status', base, { ...withTrace('00-a-b-01', '2'), status: { loadBalancer: { ingress: [{ ip: '192.168.1.240' }] } } }, false],
    ['another change without the annotation', base, { ...base, spec: { type: 'LoadBalancer' } }, false],
  ];
  for (const [name, previous, current, want] of cases) {
    it(name, () => assert.equal(onlyTraceAnnotationChanged(previous, current), want));
  }
});

describe('the trace crosses the API server in an annotation', () => {
  it('without an SDK nothing is written and nothing is sent', async () => {
    await inSpan('reconcile', {}, async () => {
      assert.equal(activeTraceparent(), undefined);
      assert.deepEqual(traceHeaders(), {});
    });
    assert.equal(trace.getSpanContext(contextFromAnnotations({ [TRACE_ANNOTATION]: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })), undefined);
  });

  it('with an SDK: the writer\'s traceparent, read back from the annotation, parents the reader\'s span', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    try {
      let written: string | undefined;
      let headers: Record<string, string> = {};
      await inSpan('reconcile services', {}, async () => {
        await inSpan('status write', {}, async () => {
          written = activeTraceparent();
          headers = traceHeaders();
        });
      });
      assert.match(written ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.equal(headers.traceparent, written);
      const parent = contextFromAnnotations({ [TRACE_ANNOTATION]: written ?? '' });
      await inSpan('announce', {}, async () => undefined, parent);
      const spans = exporter.getFinishedSpans();
      const byName = new Map(spans.map((span) => [span.name, span]));
      const write = byName.get('status write');
      const announce = byName.get('announce');
      assert.equal(announce?.spanContext().traceId, write?.spanContext().traceId);
      assert.equal(announce?.parentSpanContext?.spanId, write?.spanContext().spanId);
      assert.equal(byName.get('status write')?.parentSpanContext?.spanId, byName.get('reconcile services')?.spanContext().spanId);
      assert.equal(trace.getSpanContext(context.active()), undefined);
    } finally {
      await provider.shutdown();
    }
  });
});
