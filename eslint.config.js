import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.data/**',
      'libs/messages/src/generated/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        project: [
          './tsconfig.tests.json',
          './libs/*/tsconfig.json',
          './services/*/tsconfig.json',
          './services/api/ui/tsconfig.json',
          './bench/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: [
            './libs/*/tsconfig.json',
            './services/*/tsconfig.json',
            './bench/tsconfig.json',
          ],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      // A cycle means two modules that cannot be read, tested or moved one without the other.
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@niyanta/*/*'],
              message: 'Import a package by its name, never a deep path.',
            },
            { group: ['**/services/**'], message: 'Services never import each other.' },
          ],
        },
      ],
    },
  },
  {
    // The client runs in browsers too: fetch and web streams only.
    files: ['libs/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@niyanta/*/*'],
              message: 'Import a package by its name, never a deep path.',
            },
            {
              group: ['node:*'],
              message: 'The client runs in browsers too: use fetch and web streams.',
            },
          ],
        },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@niyanta/messages',
              allowTypeImports: true,
              message: 'Only types of @niyanta/messages: its runtime pulls in NATS.',
            },
          ],
        },
      ],
    },
  },
);
