import { existsSync } from 'node:fs';

let probe: Promise<boolean> | undefined;

/**
 * Whether a container runtime answers. Cheap where none is configured: testcontainers is
 * imported only if DOCKER_HOST is set or /var/run/docker.sock exists. Probed once per process.
 */
export function hasContainerRuntime(): Promise<boolean> {
  probe ??= detect();
  return probe;
}

async function detect(): Promise<boolean> {
  if (!process.env['DOCKER_HOST'] && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    // Any failure means the local processes, which always work.
    return false;
  }
}
