// A container's process is PID 1 in its PID namespace, and the kernel drops any signal PID 1 has no
// handler for. Node loads a program's modules for hundreds of milliseconds (seconds on a busy node)
// before the manager installs its handlers; a SIGTERM then (a Pod deleted just after it started) was
// lost, and the kubelet waited out the whole grace period before its SIGKILL. The entry modules install
// this handler before they import anything else. Nothing has been started yet that needs stopping, so
// the process just ends; the manager takes over the signals when it can stop gracefully.
// Imports nothing, so that it is loaded and running at once.

const exitNow = (): void => process.exit(0);

export function exitOnSignalsWhileStarting(): void {
  process.on('SIGTERM', exitNow);
  process.on('SIGINT', exitNow);
}

/** Called by whoever installs the graceful handlers. */
export function gracefulSignalsInstalled(): void {
  process.off('SIGTERM', exitNow);
  process.off('SIGINT', exitNow);
}
