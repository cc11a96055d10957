// Every reconciler the controller runs, and what triggers it: the one place to read to know what the
// controller reacts to. Each issue that adds a reconciler adds its wiring here.

import type { Manager } from '../operator/manager.js';
import type { ControllerOptions } from '../operator/options.js';

export function registerControllerReconcilers(_manager: Manager, _options: ControllerOptions): void {
  // The pools, advertisements and services reconcilers are wired here as they land.
}
