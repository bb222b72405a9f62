// Lint rules: typescript-eslint's recommended type-aware set, plus the house rules from
// STYLE.md that a type checker cannot enforce (no floating promises, no `any` from remote data),
// and the layers of docs/architecture.md.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

/** One folder's import rule: `patterns` are the imports its layer may not make. */
function layer(files, patterns) {
  return { files: [files], rules: { 'no-restricted-imports': ['error', { patterns }] } }
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'dev-dist/**',
      'test/bench/results/**',
      '.scratch/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='innerHTML']",
          message: 'Text is bound, never set as HTML.',
        },
        {
          selector: 'ImportDeclaration[source.value=/unsafe-(html|svg)/]',
          message: 'Text is bound, never rendered as markup (docs/rich-text.md).',
        },
      ],
    },
  },
  // The layers (docs/architecture.md, "Layers"): each folder imports only from the layers below
  // it. `import type` counts too: a type from a higher layer is a dependency on it all the same.
  layer('src/lib/**', [
    { regex: '^\\.\\./', message: 'lib imports nothing outside src/lib.' },
    { regex: '^(?!\\.\\.?/)', message: 'lib imports no package.' },
  ]),
  layer('src/model/**', [
    { regex: '^\\.\\./(?!lib/)', message: 'model imports only yjs, lib0 and ../lib.' },
    { regex: '^(?!\\.\\.?/|yjs$|lib0(/|$))', message: 'model imports only yjs, lib0 and ../lib.' },
  ]),
  layer('src/crypto/**', [
    { regex: '^\\.\\./(?!lib/)', message: 'crypto imports nothing of model, net, session or ui.' },
    { regex: '^(?!\\.\\.?/)', message: 'crypto uses WebCrypto only, no package.' },
  ]),
  layer('src/net/**', [
    { regex: '^\\.\\./(session|ui)(/|$)', message: 'net never imports session or ui.' },
  ]),
  layer('src/session/**', [{ regex: '^\\.\\./ui(/|$)', message: 'session never imports ui.' }]),
  layer('src/ui/**', [
    {
      regex: '^(\\.\\./)+(crypto|net)(/|$)',
      message: 'ui reaches crypto and net only through session (session/room-link.ts).',
    },
  ]),
  layer('signaling/**', [
    {
      regex: '(^|/)src/(ui|session|net)(/|$)',
      message: 'The server never imports the app: only src/model and src/crypto.',
    },
  ]),
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
    },
  },
)
