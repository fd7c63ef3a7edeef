import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/loader.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { notYetEnforced } from '../../src/daemon/not-yet-enforced.js';

test('tandem run refuses configuration it accepts but does not enforce yet, naming each place', () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-gaps-'));
  try {
    const file = join(directory, 'tandem.conf');
    writeFileSync(
      file,
      [
        'vrrp_instance VI_1 {',
        '  interface eth0',
        '  virtual_router_id 30',
        '  priority 100',
        '  use_vmac',
        '  virtual_ipaddress {',
        '    192.0.2.10/24',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const { config } = loadConfig(file);
    assert.ok(config);
    const strict = notYetEnforced(config, false, file).map(formatDiagnostic);
    assert.deepEqual(strict, [
      `${file}:1:15: error: use_vmac of vrrp_instance VI_1 is accepted by the configuration but not enforced by this version of the agent; refusing to run (use --lenient to run without it)`,
    ]);
    const lenient = notYetEnforced(config, true, file);
    assert.equal(lenient[0]?.severity, 'warning');
    const plain = {
      ...config,
      instances: config.instances.map((instance) => ({ ...instance, useVmac: undefined })),
    };
    assert.deepEqual(notYetEnforced(plain, false, file), []);
    const otherGroup = {
      ...plain,
      instances: plain.instances.map((instance) => ({ ...instance, mcastDstIp: '224.0.0.19' })),
    };
    assert.match(
      notYetEnforced(otherGroup, false, file)[0]?.message ?? '',
      /^multicast group 224\.0\.0\.19 of vrrp_instance VI_1/,
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
