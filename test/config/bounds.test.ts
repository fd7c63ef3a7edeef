/**
 * Reading a configuration never blocks the event loop and never exhausts the process (issue 9): what is not a
 * regular file is refused at the include naming it, the total size, the number of files and words, and block
 * nesting are bounded, each with an error at the place the bound is passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic, loadConfig, memoryFileSystem, type LoadResult } from '../../src/config/index.js';
import { CONFIG_LIMITS } from '../../src/config/lexer.js';
import { MAX_BLOCK_DEPTH } from '../../src/config/parser.js';
import { conf, instance } from './helpers.js';

function scratch(): { directory: string; cleanup: () => void } {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-bounds-'));
  return { directory, cleanup: () => rmSync(directory, { recursive: true, force: true }) };
}

/** The load, failing the test with a clear message if it does not finish (rather than hanging the suite). */
async function loadWithin(file: string, seconds = 60): Promise<LoadResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`loading ${file} did not finish in ${seconds} s`)),
      seconds * 1000,
    );
  });
  try {
    return await Promise.race([loadConfig(file, { configId: 'test' }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A valid configuration of about `bytes` bytes: instances, each with its own VRID and interface. */
function largeConfig(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let n = 0; size < bytes; n++) {
    const part = conf(
      `vrrp_instance BIG_${n} {`,
      `    interface eth${n % 4000}`,
      `    virtual_router_id ${(n % 255) + 1}`,
      '    priority 100',
      '    advert_int 1',
      '    virtual_ipaddress {',
      `        192.0.2.${n % 250}/24`,
      '    }',
      '}',
    );
    parts.push(part);
    size += part.length;
  }
  return parts.join('');
}

test('an include of a FIFO nobody writes to is refused at the include, and the loop keeps ticking meanwhile', async () => {
  const { directory, cleanup } = scratch();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1);
  try {
    const fifo = join(directory, 'never-written.fifo');
    execFileSync('mkfifo', [fifo]);
    // Enough text before the FIFO that loading spans many turns of the event loop.
    writeFileSync(join(directory, 'big.conf'), largeConfig(1024 * 1024));
    const main = join(directory, 'tandem.conf');
    writeFileSync(main, conf('include big.conf', `include ${fifo}`, instance()));
    const result = await loadWithin(main);
    assert.equal(result.config, undefined);
    const errors = result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    assert.deepEqual(errors, [`${main}:2:9: error: cannot read '${fifo}': is a FIFO, not a regular file`]);
    assert.ok(ticks >= 3, `a 1 ms interval ticked ${ticks} times while the configuration was read`);
  } finally {
    clearInterval(ticker);
    cleanup();
  }
});

test('devices and directories are refused with an error at the include that names them', async () => {
  const { directory, cleanup } = scratch();
  try {
    mkdirSync(join(directory, 'conf.d'));
    const main = join(directory, 'tandem.conf');
    writeFileSync(main, conf('include /dev/zero', 'include conf.d', 'include /dev/null'));
    const result = await loadWithin(main);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
      `${main}:1:9: error: cannot read '/dev/zero': is a character device, not a regular file`,
      `${main}:2:9: error: cannot read '${join(directory, 'conf.d')}': is a directory, not a regular file`,
      `${main}:3:9: error: cannot read '/dev/null': is a character device, not a regular file`,
    ]);
  } finally {
    cleanup();
  }
});

test('a wildcard include skips directories but reports a FIFO it matches', async () => {
  const { directory, cleanup } = scratch();
  try {
    mkdirSync(join(directory, 'conf.d'));
    mkdirSync(join(directory, 'conf.d', 'sub.conf'));
    execFileSync('mkfifo', [join(directory, 'conf.d', 'pipe.conf')]);
    writeFileSync(join(directory, 'conf.d', 'vi.conf'), instance());
    const main = join(directory, 'tandem.conf');
    writeFileSync(main, conf('include conf.d/*.conf'));
    const result = await loadWithin(main);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
      `${main}:1:9: error: cannot read '${join(directory, 'conf.d', 'pipe.conf')}': is a FIFO, not a regular file`,
    ]);
  } finally {
    cleanup();
  }
});

test('10,000 nested blocks: a clear error at the line where the depth bound is passed, no crash', async () => {
  const depth = 10_000;
  const text = 'vrrp_instance VI_1 {\n'.repeat(depth) + '}\n'.repeat(depth);
  const result = await loadConfig('test.conf', { files: memoryFileSystem({ 'test.conf': text }) });
  const limit = result.diagnostics.filter((d) => d.code === 'TANDEM_ECONFIG_LIMIT');
  assert.deepEqual(limit.map(formatDiagnostic), [
    `test.conf:${MAX_BLOCK_DEPTH + 1}:20: error: blocks nest deeper than ${MAX_BLOCK_DEPTH} levels; this block and everything in it is skipped`,
  ]);
  assert.ok(
    result.diagnostics.every((d) => !d.message.includes('internal error')),
    result.diagnostics.map(formatDiagnostic).join('\n'),
  );
  // The unclosed variant is bounded too: no error per level.
  const unclosed = await loadConfig('test.conf', {
    files: memoryFileSystem({ 'test.conf': 'a {\n'.repeat(depth) }),
  });
  assert.ok(unclosed.diagnostics.length <= MAX_BLOCK_DEPTH + 2, `${unclosed.diagnostics.length} diagnostics`);
});

test('the total size is bounded: the include that passes 16 MiB is refused and reading stops', async () => {
  const half = ('#'.repeat(1023) + '\n').repeat(CONFIG_LIMITS.maxTotalBytes / 2 / 1024);
  const files = memoryFileSystem({
    'test.conf': conf('include a.conf', 'include b.conf', 'include c.conf'),
    'a.conf': half,
    'b.conf': half,
    'c.conf': instance(),
  });
  const result = await loadConfig('test.conf', { files });
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
    "test.conf:2:9: error: cannot read 'b.conf': the configuration would exceed 16 MiB (all files together)",
  ]);
  assert.equal(result.diagnostics[0]?.code, 'TANDEM_ECONFIG_LIMIT');
});

test('the number of files is bounded', async () => {
  const files: Record<string, string> = { 'test.conf': conf('include d/*.conf') };
  for (let n = 0; n < CONFIG_LIMITS.maxFiles + 5; n++) files[`d/${String(n).padStart(5, '0')}.conf`] = '';
  const result = await loadConfig('test.conf', { files: memoryFileSystem(files) });
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
    `test.conf:1:9: error: more than ${CONFIG_LIMITS.maxFiles} files are included; 'd/01023.conf' is not read`,
  ]);
});

test('the number of words is bounded', async () => {
  const line = 'w '.repeat(1000) + '\n';
  const text = line.repeat(CONFIG_LIMITS.maxTokens / 1000 + 1);
  const result = await loadConfig('test.conf', { files: memoryFileSystem({ 'test.conf': text }) });
  const limit = result.diagnostics.filter((d) => d.code === 'TANDEM_ECONFIG_LIMIT').map(formatDiagnostic);
  assert.deepEqual(limit, [
    `test.conf:${CONFIG_LIMITS.maxTokens / 1000 + 1}:1: error: the configuration has more than ${CONFIG_LIMITS.maxTokens} words`,
  ]);
});

test('generated text is bounded: substitution per line, and over the whole configuration', async () => {
  // A definition that doubles on every use is stopped at the line's bound.
  const doubling = ['$A=xxxxxxxxxxxxxxxx', '$A=$A $A', '$A'];
  assert.deepEqual(
    (
      await loadConfig('test.conf', { files: memoryFileSystem({ 'test.conf': conf(...doubling) }) })
    ).diagnostics.map(formatDiagnostic),
    [
      `test.conf:3:1: error: parameter substitution grows the line beyond ${CONFIG_LIMITS.maxSubstitutedLength / 1024} KiB`,
    ],
  );
  // Lines that each stay within it cannot add up to more than the whole bound either.
  const big = 'x'.repeat(CONFIG_LIMITS.maxSubstitutedLength - 10);
  const uses = Math.ceil(CONFIG_LIMITS.maxExpandedChars / big.length) + 1;
  const text = conf(`$A=${big}`, ...Array.from({ length: uses }, () => '$A'));
  const result = await loadConfig('test.conf', { files: memoryFileSystem({ 'test.conf': text }) });
  assert.deepEqual(
    result.diagnostics.filter((d) => d.code === 'TANDEM_ECONFIG_LIMIT').map(formatDiagnostic),
    [
      `test.conf:${uses}:1: error: parameter substitution and ~SEQ/~LST expand the configuration beyond 16 MiB`,
    ],
  );
});
