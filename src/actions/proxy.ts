/**
 * Services that follow the VIPs (tandem's `tandem_service` blocks): a proxy such as HAProxy or nginx is
 * started or reloaded where the VIPs arrive and stopped (or kept warm) where they leave. The commands run
 * through the instance's hook queue, before its notify scripts, in transition order, each with the service's
 * own timeout that kills its process group (docs/architecture.md, "Hooks": queued per instance, never concurrently).
 *
 * A state whose command is not configured runs nothing: the service is left as it is.
 */
import type { Command, ServiceConfig } from '../config/schema.js';
import type { HookState } from './notify.js';

/** The configured command for entering `state`, if any. */
export function serviceCommand(service: ServiceConfig, state: HookState): Command | undefined {
  return {
    MASTER: service.onMaster,
    BACKUP: service.onBackup,
    FAULT: service.onFault,
    STOP: service.onStop,
  }[state];
}

/** The argv lists one transition runs for this service: none or one, as configured. */
export function serviceCommands(service: ServiceConfig, state: HookState): string[][] {
  const command = serviceCommand(service, state);
  return command === undefined ? [] : [[...command.argv]];
}

/** How long one command of the service may run before its process group is killed. */
export function serviceTimeoutMs(service: ServiceConfig): number {
  return service.timeoutSeconds * 1000;
}

export interface ServiceHook {
  service: string;
  command: Command;
  timeoutMs: number;
}

/**
 * What an instance entering `state` runs for the services it names, in the order it names them. `names` are
 * the instance's `services`, already checked against `services` by the configuration loader.
 */
export function serviceHooks(
  services: readonly ServiceConfig[],
  names: readonly string[],
  state: HookState,
): ServiceHook[] {
  return names.flatMap((name): ServiceHook[] => {
    const service = services.find((candidate) => candidate.name === name);
    const command = service && serviceCommand(service, state);
    if (!service || !command) return [];
    return [{ service: name, command, timeoutMs: serviceTimeoutMs(service) }];
  });
}
