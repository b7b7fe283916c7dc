/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(test/.*\\.e2e-spec|(src|simulator|bench)/.*\\.spec)\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // content-disposition 2 (used by @fastify/static, which serves /docs) ships ESM only: compile it to CommonJS.
    'node_modules/content-disposition/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  globalSetup: '<rootDir>/test/global-setup.mjs',
  globalTeardown: '<rootDir>/test/global-teardown.mjs',
  // Every file: no NIR in what the gateway wrote while it ran (test/support/log-watch.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/log-watch.ts'],
  testTimeout: 30000,
  maxWorkers: 2,
};
