// Command-line flags shared by the entry points, parsed with node:util. Durations accept `ms`/`s`/`m`/`h`/`d`
// suffixes (`--lease-duration=15s`); a bad value is an error that names the flag and the value.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new Error(`--${flag} "${text}": not a duration (e.g. 500ms, 15s, 2m, 365d)`);
  const value = Number(match[1]);
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(value * unitMs);
}

export function parsePort(flag: string, text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--${flag} "${text}": not a TCP port`);
  return port;
}

export interface ControllerOptions {
  readonly kubeconfig: string | undefined;
  readonly namespace: string;
  readonly identity: string;
  readonly leaderElect: boolean;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly httpPort: number;
  readonly httpHost: string;
  /** 0 turns the admission webhook off. */
  readonly webhookPort: number;
  readonly webhookHost: string;
  /** Extra IP SANs for the webhook certificate, for API servers that call it by URL. */
  readonly webhookIPs: readonly string[];
  /** How long the webhook's CA and serving certificate are valid; renewed with a third of it left. */
  readonly webhookCertValidityMs: number;
  /** How long each rotation phase waits for the API server and every replica to catch up. */
  readonly webhookRotationSettleMs: number;
  /** Handle Services of this loadBalancerClass only; unset: only Services without a class. */
  readonly loadBalancerClass: string | undefined;
  /** The image of the speakers the install reconciler runs; unset: config/manager's (this release's). */
  readonly speakerImage: string | undefined;
}

export function parseControllerOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ControllerOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      identity: { type: 'string' },
      'leader-elect': { type: 'string', default: 'true' },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      'http-port': { type: 'string', default: '7472' },
      'http-host': { type: 'string', default: '0.0.0.0' },
      'webhook-port': { type: 'string', default: '9443' },
      'webhook-host': { type: 'string', default: '0.0.0.0' },
      'webhook-ip': { type: 'string', multiple: true, default: [] },
      'webhook-cert-validity': { type: 'string', default: '365d' },
      'webhook-rotation-settle': { type: 'string', default: '60s' },
      'lb-class': { type: 'string' },
      'speaker-image': { type: 'string' },
    },
  });
  return {
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    namespace: values.namespace ?? env.METALLB_NAMESPACE ?? env.POD_NAMESPACE ?? 'metallb-system',
    identity: values.identity ?? env.POD_NAME ?? `${hostname()}-${process.pid}`,
    leaderElect: values['leader-elect'] !== 'false',
    leaseDurationMs: parseDuration('lease-duration', values['lease-duration']),
    renewDeadlineMs: parseDuration('renew-deadline', values['renew-deadline']),
    retryPeriodMs: parseDuration('retry-period', values['retry-period']),
    httpPort: parsePort('http-port', values['http-port']),
    httpHost: values['http-host'],
    webhookPort: parsePort('webhook-port', values['webhook-port']),
    webhookHost: values['webhook-host'],
    webhookIPs: values['webhook-ip'],
    webhookCertValidityMs: parseDuration('webhook-cert-validity', values['webhook-cert-validity']),
    webhookRotationSettleMs: parseDuration('webhook-rotation-settle', values['webhook-rotation-settle']),
    loadBalancerClass: values['lb-class'] === '' ? undefined : values['lb-class'],
    speakerImage: values['speaker-image'] === '' ? undefined : values['speaker-image'],
  };
}
