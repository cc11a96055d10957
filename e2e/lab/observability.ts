// The lab's Prometheus and Jaeger (design: "a real Prometheus on 127.0.0.1:9090 … a real Jaeger (v2,
// in-memory) with OTLP on 127.0.0.1:4318 and its query API on 127.0.0.1:16686").
//
// Reaching the programs: the controller runs in the host's namespace, so Prometheus scrapes its health
// port directly. Each speaker serves 127.0.0.1:7472 inside its node's namespace, which the host cannot
// reach; as for the API server (relay.ts), a relay inside the node serves that port on a Unix socket and a
// relay on the host serves the socket on a loopback port of its own, one per node. Targets carry the node
// as their `instance`, so `up{job="metallb-speaker",instance="lab-node-2"}` reads as the guide means it.
// Spans go the other way: a relay in each node serves 127.0.0.1:4318 from a socket the host relays to
// Jaeger, so every program exports to the same OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318.
//
// On the cluster lab the speakers are host-network Pods, reached the same way. The controller's replicas
// are on the Pod network, out of the host's reach: each is scraped through a relay in the control-plane
// namespace (which routes the Pod subnets), named by its Pod; and each node's OTLP relay also listens on
// the node's address, which a Pod reaches as its status.hostIP.
//
// The guide's PrometheusRule (config/prometheus/prometheus-rule.yaml) is loaded as a rules file with every
// `for` shortened, so a test sees pending and firing in seconds rather than minutes.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { repoRoot } from '../fixtures.js';
import { freePort, runningPid, startDaemon, waitFor } from './processes.js';

export interface ObservabilityPorts {
  readonly prometheus: number;
  readonly otlp: number;
  readonly query: number;
}

export const LAB_OBSERVABILITY_PORTS: ObservabilityPorts = { prometheus: 9090, otlp: 4318, query: 16686 };
/** The `for` of every alert in the lab's copy of the guide's rules. */
export const LAB_ALERT_FOR = '10s';
/** Where each speaker serves metrics inside its node's namespace. */
export const SPEAKER_METRICS_PORT = 7472;
/** Where an installed controller serves metrics in its Pod (config/manager/controller.yaml). */
export const CONTROLLER_METRICS_PORT = 7472;

export interface ObservabilityPaths {
  readonly root: string;
  readonly run: string;
  readonly logs: string;
}

/** Where a controller serves metrics: a host:port, reached from `netns` when it is given. */
export interface ControllerTarget {
  readonly address: string;
  readonly netns?: string;
}

export interface ObservabilityOptions {
  readonly paths: ObservabilityPaths;
  readonly nodes: readonly string[];
  /** Instance name → where that controller serves metrics. */
  readonly controllers: ReadonlyMap<string, ControllerTarget>;
  /** Node → its address, on which its OTLP relay also listens (the cluster lab's Pods). */
  readonly nodeAddresses?: ReadonlyMap<string, string>;
  readonly ports?: ObservabilityPorts;
  /** Directory holding `prometheus` (e2e/fixtures/build.sh prometheus). */
  readonly prometheusBin: string;
  /** Directory holding `jaeger` (e2e/fixtures/build.sh jaeger). */
  readonly jaegerBin: string;
}

/** The environment that sends a lab program's spans to the lab's Jaeger (inside a node, through its relay). */
export function otelEnv(serviceName: string, ports: ObservabilityPorts = LAB_OBSERVABILITY_PORTS): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.otlp}`, OTEL_SERVICE_NAME: serviceName };
}

interface PrometheusRuleDocument {
  readonly kind?: string;
  readonly spec?: { readonly groups?: ReadonlyArray<{ readonly name: string; readonly rules: ReadonlyArray<Record<string, unknown>> }> };
}

/** A PrometheusRule's groups as a Prometheus rules file; with `forOverride`, every alert's `for` replaced. Pure. */
export function rulesFileFrom(prometheusRuleYaml: string, forOverride?: string): string {
  const document = load(prometheusRuleYaml) as PrometheusRuleDocument;
  if (document.kind !== 'PrometheusRule' || document.spec?.groups === undefined) throw new Error('not a PrometheusRule with spec.groups');
  const groups = document.spec.groups.map((group) => ({
    ...group,
    rules: group.rules.map((rule) => (forOverride !== undefined && rule.alert !== undefined && rule.for !== undefined ? { ...rule, for: forOverride } : rule)),
  }));
  return `# Generated from config/prometheus/prometheus-rule.yaml by e2e/lab/observability.ts${forOverride === undefined ? '' : `, every \`for\` set to ${forOverride}`}.\n${dump({ groups }, { lineWidth: -1 })}`;
}

export interface ScrapeTargets {
  /** instance → host:port reaching that controller. */
  readonly controllers: ReadonlyMap<string, string>;
  /** node name → host:port reaching that node's speaker. */
  readonly speakers: ReadonlyMap<string, string>;
}

/** The lab's prometheus.yml: the guide's two jobs, fast intervals, targets named by their node. Pure. */
export function prometheusConfig(targets: ScrapeTargets, rulesFile: string): string {
  const nodeAsInstance = [{ source_labels: ['node'], target_label: 'instance' }];
  return `# Generated by e2e/lab/observability.ts for the lab.\n${dump({
    global: { scrape_interval: '2s', scrape_timeout: '1s', evaluation_interval: '2s' },
    rule_files: [rulesFile],
    scrape_configs: [
      {
        job_name: 'metallb-controller',
        static_configs: [...targets.controllers].map(([instance, target]) => ({ targets: [target], labels: { node: instance } })),
        relabel_configs: nodeAsInstance,
      },
      {
        job_name: 'metallb-speaker',
        static_configs: [...targets.speakers].map(([node, target]) => ({ targets: [target], labels: { node } })),
        relabel_configs: nodeAsInstance,
      },
    ],
  }, { lineWidth: -1 })}`;
}

/** Jaeger v2's configuration: OTLP/HTTP in, in-memory storage, the query API; everything on loopback. */
export function jaegerConfig(ports: ObservabilityPorts, queryGrpcPort: number): string {
  return `# Generated by e2e/lab/observability.ts for the lab.\n${dump({
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: { traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] } },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 100000 } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        http: { endpoint: `127.0.0.1:${ports.query}` },
        grpc: { endpoint: `127.0.0.1:${queryGrpcPort}` },
      },
    },
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${ports.otlp}` } } } },
    processors: { batch: { timeout: '200ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  }, { lineWidth: -1 })}`;
}

const relayScript = (): string => join(repoRoot, 'dist', 'e2e', 'lab', 'relay.js');

function ensureRelay(paths: ObservabilityPaths, name: string, listen: string, connect: string, netns?: string): void {
  const pidFile = join(paths.run, `${name}.pid`);
  if (runningPid(pidFile) !== undefined) return;
  startDaemon({
    name, command: process.execPath, ...(netns === undefined ? {} : { netns }),
    args: [relayScript(), '--listen', listen, '--connect', connect],
    logFile: join(paths.logs, `${name}.log`), pidFile,
  });
}

/** Host loopback ports of metrics relays by name, kept across `up`s so Prometheus's targets stay. */
async function relayPorts(paths: ObservabilityPaths, kind: string, names: readonly string[]): Promise<Map<string, number>> {
  const file = join(paths.root, `${kind}-metrics-ports.json`);
  const known = new Map<string, number>(existsSync(file) ? Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>) : []);
  for (const name of names) if (!known.has(name)) known.set(name, await freePort());
  writeFileSync(file, JSON.stringify(Object.fromEntries(known)));
  return new Map(names.map((name) => [name, known.get(name) ?? 0]));
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Starts whatever is missing of Jaeger, Prometheus and their relays (idempotent, like the rest of
 *  `up`); `lab down` stops them with every other pid file in run/. Returns what it started. */
export async function ensureObservability(options: ObservabilityOptions): Promise<string[]> {
  const { paths, nodes } = options;
  const ports = options.ports ?? LAB_OBSERVABILITY_PORTS;
  const dir = join(paths.root, 'observability');
  mkdirSync(dir, { recursive: true });
  const started: string[] = [];

  // Jaeger first: programs started after it export from their first span on.
  const jaegerPid = join(paths.run, 'jaeger.pid');
  if (runningPid(jaegerPid) === undefined) {
    const config = join(dir, 'jaeger.yaml');
    writeFileSync(config, jaegerConfig(ports, await freePort()));
    startDaemon({ name: 'jaeger', command: join(options.jaegerBin, 'jaeger'), args: [`--config=${config}`], logFile: join(paths.logs, 'jaeger.log'), pidFile: jaegerPid });
    started.push('jaeger');
  }
  const otlpSocket = join(paths.run, 'otlp.sock');
  ensureRelay(paths, 'otlp-relay', `unix:${otlpSocket}`, `tcp:127.0.0.1:${ports.otlp}`);
  for (const node of nodes) ensureRelay(paths, `otlp-relay-${node}`, `tcp:127.0.0.1:${ports.otlp}`, `unix:${otlpSocket}`, node);
  for (const [node, address] of options.nodeAddresses ?? []) ensureRelay(paths, `otlp-relay-pods-${node}`, `tcp:${address}:${ports.otlp}`, `unix:${otlpSocket}`, node);

  const controllers = new Map<string, string>();
  const reached = [...options.controllers].filter(([, target]) => target.netns !== undefined).map(([name]) => name);
  const controllerPorts = await relayPorts(paths, 'controller', reached);
  for (const [name, target] of options.controllers) {
    const port = controllerPorts.get(name);
    if (target.netns === undefined || port === undefined) {
      controllers.set(name, target.address);
      continue;
    }
    const socket = join(paths.run, `metrics-${name}.sock`);
    ensureRelay(paths, `metrics-relay-${name}`, `unix:${socket}`, `tcp:${target.address}`, target.netns);
    ensureRelay(paths, `metrics-relay-host-${name}`, `tcp:127.0.0.1:${port}`, `unix:${socket}`);
    controllers.set(name, `127.0.0.1:${port}`);
  }

  const speakers = new Map<string, string>();
  for (const [node, port] of await relayPorts(paths, 'speaker', nodes)) {
    const socket = join(paths.run, `metrics-${node}.sock`);
    ensureRelay(paths, `metrics-relay-${node}`, `unix:${socket}`, `tcp:127.0.0.1:${SPEAKER_METRICS_PORT}`, node);
    ensureRelay(paths, `metrics-relay-host-${node}`, `tcp:127.0.0.1:${port}`, `unix:${socket}`);
    speakers.set(node, `127.0.0.1:${port}`);
  }

  const rules = join(dir, 'metallb-alerts.rules.yaml');
  writeFileSync(rules, rulesFileFrom(readFileSync(join(repoRoot, 'config', 'prometheus', 'prometheus-rule.yaml'), 'utf8'), LAB_ALERT_FOR));
  const config = join(dir, 'prometheus.yml');
  const wanted = prometheusConfig({ controllers, speakers }, rules);
  const changed = !existsSync(config) || readFileSync(config, 'utf8') !== wanted;
  writeFileSync(config, wanted);
  const prometheusPid = join(paths.run, 'prometheus.pid');
  if (runningPid(prometheusPid) === undefined) {
    startDaemon({
      name: 'prometheus', command: join(options.prometheusBin, 'prometheus'),
      args: [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${ports.prometheus}`,
        '--web.enable-lifecycle', '--storage.tsdb.retention.time=1d'],
      logFile: join(paths.logs, 'prometheus.log'), pidFile: prometheusPid,
    });
    started.push('prometheus');
  } else if (changed) {
    // More nodes, or other controller Pods, than last time: new targets, same process.
    await fetch(`http://127.0.0.1:${ports.prometheus}/-/reload`, { method: 'POST' }).catch(() => undefined);
  }
  await waitFor('Prometheus ready', () => httpOk(`http://127.0.0.1:${ports.prometheus}/-/ready`), 60_000, 250);
  await waitFor('Jaeger\'s query API', () => httpOk(`http://127.0.0.1:${ports.query}/api/v3/services`), 60_000, 250);
  return started;
}
