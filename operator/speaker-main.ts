// The speaker's entry point (DaemonSet, one per node): `node dist/operator/speaker-main.js --node=worker-1`.
// It handles SIGTERM before it loads the program (kit/early-signals.ts says why), so it imports the
// program dynamically, after that.

import { exitOnSignalsWhileStarting } from './kit/early-signals.js';

exitOnSignalsWhileStarting();
const [{ main }, { createLogger, errorText }] = await Promise.all([import('./speaker-program.js'), import('./kit/log.js')]);
main().catch((error: unknown) => {
  createLogger().error('announcer failed', { error: errorText(error) });
  process.exit(1);
});
