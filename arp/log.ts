// Until operator/kit/log.ts exists, classes in arp/ take this function; the default writes JSON lines to stderr.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, msg: string, fields?: Readonly<Record<string, unknown>>) => void;

export const stderrLog: Log = (level, msg, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
};

export const silentLog: Log = () => undefined;
