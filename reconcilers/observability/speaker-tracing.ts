// The speaker's half of a Service's trace. The controller left the traceparent of the status write that
// gave the Service its address in the `l2lb.dev/traceparent` annotation; the speaker that wins the address
// continues that trace: plan → election → responder add, each gratuitous round an event on the announce
// span. A failover has no Service change behind it, so it starts a trace of its own: peer declared dead →
// election → announce → gratuitous rounds.
//
// The announcer computes one plan for every Service at once, so the plan and the election are measured
// once and recorded, with their real start and end times, as children of each trace that gained an
// address in that pass. Without an SDK every call here is a no-op on a non-recording span.

import { context, ROOT_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import { contextFromAnnotations, tracer } from '../../operator/kit/tracing.js';

export const SPEAKER_SPANS = {
  announce: 'announce',
  plan: 'plan',
  election: 'election',
  responderAdd: 'responder add',
  failover: 'failover',
  peerDead: 'peer declared dead',
  gratuitousRound: 'gratuitous round',
} as const;

/** A finished phase of the announcer's pass (performance.now()-based or epoch ms, as given to `phase`). */
export interface Phase {
  readonly startedAt: number;
  readonly endedAt: number;
}

/** One address this node gained, traced under the Service's trace (or a failover's). */
export class AnnouncementTrace {
  private ended = false;

  private constructor(private readonly span: Span, private readonly spanContext: Context) {}

  /** The `announce` span for `ip`, a child of the controller's status write when the Service carries the
   *  annotation, else a root. `startedAt` (epoch ms) backdates it to the start of the pass. */
  static forService(annotations: Readonly<Record<string, string>> | undefined, attributes: { service: string; ip: string; node: string }, startedAt?: number): AnnouncementTrace {
    return AnnouncementTrace.start(contextFromAnnotations(annotations), attributes, startedAt);
  }

  /** The `announce` span for `ip` under a failover trace. */
  static forFailover(failover: FailoverTrace, attributes: { service: string; ip: string; node: string }, startedAt?: number): AnnouncementTrace {
    return AnnouncementTrace.start(failover.context, attributes, startedAt);
  }

  private static start(parent: Context, attributes: { service: string; ip: string; node: string }, startedAt?: number): AnnouncementTrace {
    const span = tracer.startSpan(SPEAKER_SPANS.announce, {
      attributes: { 'l2lb.service': attributes.service, 'l2lb.ip': attributes.ip, 'l2lb.node': attributes.node },
      ...(startedAt === undefined ? {} : { startTime: startedAt }),
    }, parent);
    return new AnnouncementTrace(span, trace.setSpan(parent, span));
  }

  /** Records a finished phase of the pass (`plan`, `election`) as a child span with its own times (epoch ms). */
  phase(name: typeof SPEAKER_SPANS.plan | typeof SPEAKER_SPANS.election, phase: Phase, attributes: Record<string, string | number> = {}): void {
    tracer.startSpan(name, { startTime: phase.startedAt, attributes }, this.spanContext).end(phase.endedAt);
  }

  /** Runs the responder's add inside a `responder add` span (the result is returned unchanged). */
  responderAdd<T extends { readonly ok: boolean }>(interfaces: readonly string[], add: () => T): T {
    const span = tracer.startSpan(SPEAKER_SPANS.responderAdd, { attributes: { 'l2lb.interfaces': interfaces.join(',') } }, this.spanContext);
    try {
      const result = context.with(trace.setSpan(this.spanContext, span), add);
      span.setAttribute('l2lb.ok', result.ok);
      return result;
    } finally {
      span.end();
    }
  }

  /** One gratuitous ARP / unsolicited NA round went out. */
  gratuitousRound(round: number, frames: number): void {
    if (!this.ended) this.span.addEvent(SPEAKER_SPANS.gratuitousRound, { 'l2lb.round': round, 'l2lb.frames': frames });
  }

  /** Ends the announce span: after the last gratuitous round, or when the address is withdrawn first. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
}

/** A failover: the root `failover` span, with `peer declared dead` as its first event. */
export class FailoverTrace {
  readonly context: Context;

  private constructor(private readonly span: Span) {
    this.context = trace.setSpan(ROOT_CONTEXT, span);
  }

  /** `lastHeardAt` (epoch ms): the dead peer's last sign of life, where the failover begins. */
  static start(deadPeer: string, node: string, lastHeardAt: number): FailoverTrace {
    const span = tracer.startSpan(SPEAKER_SPANS.failover, { root: true, startTime: lastHeardAt, attributes: { 'l2lb.peer': deadPeer, 'l2lb.node': node } });
    span.addEvent(SPEAKER_SPANS.peerDead, { 'l2lb.peer': deadPeer });
    return new FailoverTrace(span);
  }

  end(): void {
    this.span.end();
  }
}
