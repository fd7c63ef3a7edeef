import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/loader.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { notYetEnforced } from '../../src/daemon/not-yet-enforced.js';

test('use_vmac is refused by the configuration; tandem run refuses what it accepts but does not enforce', async () => {
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
    // use_vmac is not implemented: the configuration itself refuses it, for `check` and `run` alike (one
    // truth), and --lenient turns the refusal into a warning.
    const refused = await loadConfig(file);
    assert.equal(refused.config, undefined);
    assert.match(
      refused.diagnostics.map(formatDiagnostic).join('\n'),
      /:5:3: error: unsupported keepalived keyword 'use_vmac'.*VMAC interfaces/,
    );
    const { config } = await loadConfig(file, { lenient: true });
    assert.ok(config);
    assert.equal(config.instances[0]?.useVmac, undefined, 'a lenient run ignores it');
    const plain = config;
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
