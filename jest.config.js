// Tests run the TypeScript sources through swc (no build needed); `tsc -b` type-checks separately.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  },
];
const moduleNameMapper = {
  '^@niyanta/(worker-sdk|messages|db|runtime|testing|blob-store|client|telemetry|schedules)$':
    '<rootDir>/libs/$1/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};
const common = {
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: [],
};

/** @type {import('jest').Config} */
export default {
  maxWorkers: 2,
  // Integration tests start real servers; per-project testTimeout is ignored by jest, so it is set here.
  testTimeout: 60_000,
  globalSetup: '<rootDir>/libs/testing/src/jest-global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest-global-teardown.ts',
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/{libs,services}/*/test/**/*.test.ts',
        '<rootDir>/infra/test/**/*.test.ts',
      ],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'int',
      testMatch: [
        '<rootDir>/{libs,services}/*/test/**/*.int.test.ts',
        '<rootDir>/infra/test/**/*.int.test.ts',
      ],
      testTimeout: 60_000,
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/e2e/test/**/*.test.ts', '<rootDir>/bench/test/**/*.test.ts'],
      testTimeout: 180_000,
    },
  ],
};
