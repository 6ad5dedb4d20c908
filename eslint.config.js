// Layer boundaries (DEVELOPERS.md): domain imports nothing of ours; renderer never reaches into
// electron, device-drivers or server internals; device-drivers never imports renderer or electron.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const ourPackages = ['domain', 'device-drivers', 'sync-server', 'renderer', 'electron', 'fixtures'];
/** Patterns forbidding both the workspace package name and a relative path into the folder. */
function forbid(...layers) {
  return layers.flatMap((layer) => [
    {
      group: [`@emdad/${layer}`, `@emdad/${layer}/*`],
      message: `This layer must not import ${layer} (see DEVELOPERS.md, architecture).`,
    },
    {
      group: [`**/${layer}/src/**`, `../../${layer}/**`, `../${layer}/**`],
      message: `This layer must not import ${layer} (see DEVELOPERS.md, architecture).`,
    },
  ]);
}
const restrict = (...layers) => ({
  'no-restricted-imports': ['error', { patterns: forbid(...layers) }],
});

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/build/**', '**/dist/**', 'bench/results/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  { files: ['domain/**/*.ts'], rules: restrict(...ourPackages.filter((p) => p !== 'domain')) },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...restrict('electron', 'device-drivers', 'sync-server'),
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  { files: ['device-drivers/**/*.ts'], rules: restrict('renderer', 'electron', 'sync-server') },
  { files: ['sync-server/**/*.ts'], rules: restrict('renderer', 'electron', 'device-drivers') },
  { files: ['electron/**/*.ts'], rules: restrict('renderer', 'sync-server') },
  { files: ['fixtures/**/*.ts'], rules: restrict('renderer', 'electron', 'device-drivers', 'sync-server') },
);
