import { TenantRunGate } from '../src/tenant-run-quotas.js';

describe('tenant run quotas', () => {
  it('lets a tenant run up to its maxRunning in one pass, counting what already runs', () => {
    const gate = new TenantRunGate(
      new Map([['acme', { maxRunning: 3 }]]),
      new Map([['acme', { running: 1, cpu: 0, memoryMb: 0, gpu: 0 }]]),
    );
    expect(gate.admit('acme', {})).toBeNull();
    expect(gate.admit('acme', {})).toBeNull();
    expect(gate.admit('acme', {})).toBe('tenant acme is at its maxRunning 3');
    expect(gate.admit('other', {})).toBeNull();
  });

  it('holds a workload whose resources would take its tenant past maxCpu, maxMemoryMb or maxGpu', () => {
    const gate = new TenantRunGate(
      new Map([['acme', { maxCpu: 4, maxMemoryMb: 1024, maxGpu: 1 }]]),
      new Map([['acme', { running: 2, cpu: 3, memoryMb: 512, gpu: 0 }]]),
    );
    expect(gate.admit('acme', { cpu: 2 })).toBe(
      'tenant acme is at its maxCpu 4 (its active runs take 3, this one needs 2)',
    );
    expect(gate.admit('acme', { memoryMb: 1024 })).toMatch(
      /^tenant acme is at its maxMemoryMb 1024/,
    );
    expect(gate.admit('acme', { cpu: 1, gpu: 1 })).toBeNull();
    expect(gate.admit('acme', { gpu: 1 })).toMatch(/^tenant acme is at its maxGpu 1/);
    // Needing none of a resource never waits for it.
    expect(gate.admit('acme', {})).toBeNull();
  });
});
