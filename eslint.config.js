// ESLint flat config: typescript-eslint's strict type-aware rules for the TypeScript sources and
// tests, the plain recommended rules for the JavaScript scripts and benchmarks. Formatting is
// Prettier's job (eslint-config-prettier turns off the rules that overlap).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import prettier from 'eslint-config-prettier'
import globals from 'globals'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', '.cache/', 'oclif.manifest.json']},
  js.configs.recommended,
  {files: ['**/*.js', '**/*.mjs'], languageOptions: {globals: globals.node}},
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname},
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
      '@typescript-eslint/restrict-template-expressions': ['error', {allowNumber: true, allowBoolean: true, allowNullish: true}],
      // These fight idioms this code relies on (void-returning arrow shorthands, defensive checks
      // on data from the wire, non-null after an explicit has()).
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  prettier,
)
