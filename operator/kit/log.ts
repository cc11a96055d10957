// Structured JSON logs, one object per line on stderr, with a level. Fields are merged into the line so
// that `jq 'select(.controller=="services")'` works on any log of l2lb.

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Readonly<Record<string, unknown>>;

const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose every line also carries `fields`. */
  child(fields: Fields): Logger;
}

export type LogSink = (line: string) => void;

export function levelFromEnv(value: string | undefined): Level {
  return value === 'debug' || value === 'warn' || value === 'error' ? value : 'info';
}

export function createLogger(options: { level?: Level; sink?: LogSink; fields?: Fields } = {}): Logger {
  const threshold = rank[options.level ?? levelFromEnv(process.env.L2LB_LOG_LEVEL)];
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = options.fields ?? {};
  const emit = (level: Level, msg: string, fields?: Fields): void => {
    if (rank[level] < threshold) return;
    sink(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...base, ...serializable(fields) }));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ level: levelName(threshold), sink, fields: { ...base, ...fields } }),
  };
}

function levelName(threshold: number): Level {
  return (Object.keys(rank) as Level[]).find((level) => rank[level] === threshold) ?? 'info';
}

// Error objects stringify to {} in JSON; keep their message (and status code, for API errors).
function serializable(fields: Fields | undefined): Fields {
  if (fields === undefined) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? errorText(value) : typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A logger that drops everything: for tests that are not about logging. */
export const silentLogger: Logger = createLogger({ sink: () => undefined, level: 'error' });
