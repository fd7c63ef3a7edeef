import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlError, ControlServer, MAX_REQUEST_BYTES, controlRequest } from '../../src/daemon/control.js';
import { ensureRuntimeDir } from '../../src/daemon/runtime-dir.js';

function send(path: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = net.createConnection(path, () => connection.write(payload));
    let answer = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => (answer += chunk));
    connection.on('end', () => resolve(answer));
    connection.on('error', reject);
  });
}

test('the control socket answers status, refuses bad requests with a code and a counter, and is mode 0600', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-control-'));
  const runtimeDir = join(directory, 'run');
  ensureRuntimeDir(runtimeDir);
  assert.equal(statSync(runtimeDir).mode & 0o777, 0o700);
  let calls = 0;
  const server = new ControlServer(join(runtimeDir, 'tandem.sock'), {
    status: () => {
      calls++;
      return { instances: [] };
    },
  });
  try {
    await server.listen();
    assert.equal(statSync(server.path).mode & 0o777, 0o600);
    assert.deepEqual(await controlRequest(server.path, { command: 'status' }), { instances: [] });
    const cases: [string, string][] = [
      ['not json\n', 'TANDEM_ECONTROL_JSON'],
      ['[1,2]\n', 'TANDEM_ECONTROL_REQUEST'],
      ['{"command":"reboot"}\n', 'TANDEM_ECONTROL_COMMAND'],
      ['{"command":"toString"}\n', 'TANDEM_ECONTROL_COMMAND'],
      ['{"command":"__proto__"}\n', 'TANDEM_ECONTROL_COMMAND'],
      ['x'.repeat(MAX_REQUEST_BYTES + 10), 'TANDEM_ECONTROL_TOO_LARGE'],
    ];
    for (const [payload, code] of cases) {
      const answer = JSON.parse(await send(server.path, payload)) as {
        ok: boolean;
        error: { code: string; message: string };
      };
      assert.equal(answer.ok, false);
      assert.equal(answer.error.code, code, payload.slice(0, 30));
      assert.ok(answer.error.message.length > 10);
    }
    assert.equal(server.counters.badRequests, cases.length);
    assert.equal(calls, 1, 'no bad request reached a handler');
    await assert.rejects(controlRequest(server.path, { command: 'nope' }), (error: unknown) => {
      assert.ok(error instanceof ControlError);
      assert.equal(error.code, 'TANDEM_ECONTROL_COMMAND');
      return true;
    });
  } finally {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  }
});

test('a client pointed at no agent gets a clear error', async () => {
  await assert.rejects(
    controlRequest('/nonexistent/tandem.sock', { command: 'status' }),
    /is tandem running\?/,
  );
});
