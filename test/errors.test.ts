import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TandemError } from '../src/errors.js';

test('TandemError carries a stable code and the subclass name', () => {
  class TandemExampleError extends TandemError {
    constructor() {
      super('TANDEM_EEXAMPLE', 'expected a, found b');
    }
  }
  const error = new TandemExampleError();
  assert.equal(error.code, 'TANDEM_EEXAMPLE');
  assert.equal(error.name, 'TandemExampleError');
  assert.equal(error.message, 'expected a, found b');
  assert.ok(error instanceof Error);
});
