import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { activeTraceparent, inSpan, TRACE_ANNOTATION } from '../../operator/kit/tracing.js';
import { AnnouncementTrace, FailoverTrace, SPEAKER_SPANS } from './speaker-tracing.js';

test('without an SDK the speaker\'s trace calls do nothing and cost nothing', () => {
  const announce = AnnouncementTrace.forService({ [TRACE_ANNOTATION]: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, { service: 'default/a', ip: '192.168.1.240', node: 'n1' });
  announce.phase('plan', { startedAt: Date.now() - 2, endedAt: Date.now() });
  assert.deepEqual(announce.responderAdd(['eth0'], () => ({ ok: true })), { ok: true });
  announce.gratuitousRound(0, 2);
  announce.end();
});

test('the speaker continues the controller\'s trace: announce under status write; plan, election, responder add under announce; rounds as events', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  try {
    let traceparent = '';
    await inSpan('status write', {}, async () => { traceparent = activeTraceparent() ?? ''; });
    const passStarted = Date.now() - 5;
    const announce = AnnouncementTrace.forService({ [TRACE_ANNOTATION]: traceparent }, { service: 'default/nginx-lb', ip: '192.168.1.240', node: 'lab-node-1' }, passStarted);
    announce.phase('plan', { startedAt: passStarted, endedAt: passStarted + 2 });
    announce.phase('election', { startedAt: passStarted + 2, endedAt: passStarted + 3 }, { 'l2lb.winner': 'lab-node-1' });
    announce.responderAdd(['eth0'], () => ({ ok: true }));
    announce.gratuitousRound(0, 2);
    announce.gratuitousRound(1, 2);
    announce.end();
    announce.gratuitousRound(2, 2); // after end: dropped, never an error

    const failover = FailoverTrace.start('lab-node-2', 'lab-node-1', Date.now() - 500);
    const moved = AnnouncementTrace.forFailover(failover, { service: 'default/web', ip: '192.168.1.241', node: 'lab-node-1' });
    moved.end();
    failover.end();

    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const write = byName('status write')[0];
    const [forService, forFailover] = byName(SPEAKER_SPANS.announce);
    assert.equal(forService?.parentSpanContext?.spanId, write?.spanContext().spanId);
    assert.equal(forService?.spanContext().traceId, write?.spanContext().traceId);
    for (const child of ['plan', 'election', 'responder add']) {
      assert.equal(byName(child)[0]?.parentSpanContext?.spanId, forService?.spanContext().spanId, child);
    }
    assert.deepEqual(forService?.events.map((e) => [e.name, e.attributes?.['l2lb.round']]), [['gratuitous round', 0], ['gratuitous round', 1]]);
    const root = byName(SPEAKER_SPANS.failover)[0];
    assert.equal(root?.parentSpanContext, undefined);
    assert.deepEqual(root?.events.map((e) => e.name), ['peer declared dead']);
    assert.equal(forFailover?.parentSpanContext?.spanId, root?.spanContext().spanId);
    assert.notEqual(forFailover?.spanContext().traceId, write?.spanContext().traceId);
  } finally {
    await provider.shutdown();
  }
});
