import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: [
      'src/vrrp/fsm.ts',
      'src/vrrp/packet.ts',
      'src/vrrp/carp.ts',
      'src/vrrp/protocol112.ts',
      'src/vrrp/profile.ts',
      'src/carp/ucarp-options.ts',
    ],
    rules: {
      // The state machine and the codecs are pure: no Node module, no clock, no I/O (DESIGN.md).
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', 'fs', 'net', 'dgram', 'os', 'child_process'] },
      ],
      'no-restricted-globals': [
        'error',
        'setTimeout',
        'setInterval',
        'setImmediate',
        'process',
        'Date',
        'performance',
      ],
    },
  },
);
