// The controller's entry point (Deployment, leader-elected): `node dist/operator/controller-main.js`.
// It handles SIGTERM before it loads the program (kit/early-signals.ts says why), so it imports the
// program dynamically, after that.

import { exitOnSignalsWhileStarting } from './kit/early-signals.js';

exitOnSignalsWhileStarting();
const [{ main }, { createLogger, errorText }] = await Promise.all([import('./controller-program.js'), import('./kit/log.js')]);
main().catch((error: unknown) => {
  createLogger().error('controller failed', { error: errorText(error) });
  process.exit(1);
});
