// ESLint's recommended rules over the project's Node scripts: the benchmark driver (bench/),
// the tools and the test suites. `make lint` runs it (npx eslint --config tools/eslint.config.mjs).
// It lives in tools/ rather than at the root, where only the files scripts/check-tree allows sit.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', 'tests/browser/app/**'] },
  js.configs.recommended,
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: { ...globals.node } },
  },
  {
    // Functions these suites hand to page.evaluate() run in Chromium.
    files: ['tests/browser/**', 'tests/conformance/**', 'tests/packages/**', 'tests/fresh/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
];
