/** keepalived's lexical layer: comments, quotes, conditionals, definitions, substitution, includes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagnosticSink } from '../../src/config/diagnostics.js';
import { memoryFileSystem } from '../../src/config/files.js';
import { Lexer } from '../../src/config/lexer.js';
import { conf, diagnosticsOf, instance, loadText } from './helpers.js';

async function tokens(text: string, configId = 'main'): Promise<string[][]> {
  const sink = new DiagnosticSink(false);
  const lexer = new Lexer({ files: memoryFileSystem({ 'a.conf': text }), sink, configId });
  const lines = new Map<number, string[]>();
  for (const token of await lexer.run('a.conf')) {
    const line = lines.get(token.lineId) ?? [];
    line.push(token.text);
    lines.set(token.lineId, line);
  }
  assert.deepEqual(sink.diagnostics, []);
  return [...lines.values()];
}

test('# and ! start comments anywhere outside quotes', async () => {
  assert.deepEqual(await tokens(conf('a b # c', '! d', 'e!f', 'g "h # i" j')), [
    ['a', 'b'],
    ['e'],
    ['g', 'h # i', 'j'],
  ]);
});

test('quotes group words, are removed, and join adjacent text (keepalived.conf(5), Quoted strings)', async () => {
  assert.deepEqual(await tokens(`abcd" efg h jkl "mnop\nabcd "efg h jkl" mnop\n'a "b" c'\n`), [
    ['abcd efg h jkl mnop'],
    ['abcd', 'efg h jkl', 'mnop'],
    ['a "b" c'],
  ]);
});

test('escapes inside quotes', async () => {
  assert.deepEqual(await tokens(String.raw`"a\tb" "\x41\102" "\"q\"" "\\" "\cA"` + '\n'), [
    ['a\tb', 'AB', '"q"', '\\', '\x01'],
  ]);
});

test('braces are tokens of their own, even without spaces', async () => {
  assert.deepEqual(await tokens('track_script {chk}\n'), [['track_script', '{', 'chk', '}']]);
});

test('@id lines are kept only for the matching config id, @^id only for the others', async () => {
  const text = conf('@main a 1', '@backup a 2', '@^main b 3', '@^backup b 4', 'c 5');
  assert.deepEqual(await tokens(text, 'main'), [
    ['a', '1'],
    ['b', '4'],
    ['c', '5'],
  ]);
  assert.deepEqual(await tokens(text, 'backup'), [
    ['a', '2'],
    ['b', '3'],
    ['c', '5'],
  ]);
  assert.deepEqual(await tokens(text, 'other'), [
    ['b', '3'],
    ['b', '4'],
    ['c', '5'],
  ]);
});

test('$NAME and ${NAME} are replaced at use time, recursively; undefined names stay', async () => {
  const text = conf(
    '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}',
    '$ADDRESS_BASE_SUB=0',
    '${ADDRESS_BASE}.100/32',
    '$ADDRESS_BASE_SUB=10',
    '${ADDRESS_BASE}.100/32',
    'x $UNDEFINED ${ALSO_UNDEFINED} $ADDRESS_BASE_SUBx',
    'hash ${_HASH} ${_BANG}',
  );
  assert.deepEqual(await tokens(text), [
    ['10.2.0.100/32'],
    ['10.2.10.100/32'],
    ['x', '$UNDEFINED', '${ALSO_UNDEFINED}', '$ADDRESS_BASE_SUBx'],
    ['hash', '#', '!'],
  ]);
});

test('conditional definitions and multi-line definitions (keepalived.conf(5), Parameter substitution)', async () => {
  const text = conf(
    '@main $PRIORITY=240',
    '@backup $PRIORITY=200',
    '$INSTANCE= \\',
    'vrrp_instance VI_${NUM} { \\',
    '    interface eth0 \\',
    '    virtual_router_id ${NUM} \\',
    '    @main priority $PRIORITY \\',
    '    virtual_ipaddress { \\',
    '        192.0.2.${NUM}/24 \\',
    '    } \\',
    '}',
    '$NUM=1',
    '$INSTANCE',
    '$NUM=2',
    '$INSTANCE',
  );
  const main = await loadText(text, { configId: 'main' });
  assert.deepEqual(main.diagnostics, []);
  assert.deepEqual(
    main.config?.instances.map((i) => [i.name, i.vrid, i.priority, i.vips[0]?.address]),
    [
      ['VI_1', 1, 240, '192.0.2.1'],
      ['VI_2', 2, 240, '192.0.2.2'],
    ],
  );
  // The @main line inside the definition is dropped for another id: the default priority applies.
  assert.deepEqual(
    (await loadText(text, { configId: 'backup' })).config?.instances.map((i) => i.priority),
    [100, 100],
  );
  // Lines produced by a definition are reported at the line that used it.
  const broken = text.replace('virtual_router_id ${NUM}', 'virtual_router_idd ${NUM}');
  assert.deepEqual((await diagnosticsOf(broken, { configId: 'main' })).slice(0, 1), [
    "test.conf:13:1: error: unknown keyword 'virtual_router_idd' in vrrp_instance VI_1 (did you mean 'virtual_router_id'?)",
  ]);
});

test('a definition that refers to itself is an error, not a hang', async () => {
  assert.deepEqual((await diagnosticsOf(conf('$A=x$A y', 'priority $A'))).slice(0, 1), [
    'test.conf:2:10: error: parameter substitution does not terminate after 64 passes (a definition refers to itself?)',
  ]);
});

test('columns stay those of the source after a conditional prefix', async () => {
  assert.deepEqual(
    await diagnosticsOf(conf('@testhost global_defs {', '@testhost     router_idd x', '}')),
    [
      "test.conf:2:15: error: unknown keyword 'router_idd' in global_defs (did you mean 'router_id'?)",
      'test.conf:1:1: warning: no vrrp_instance is defined; tandem has nothing to run',
    ].slice(0, 1),
  );
});

test('include: relative to the including file, with globs and braces, in sorted order', async () => {
  const files = {
    'etc/main.conf': conf('include conf.d/*.conf', 'include extra/{b,a}.inc'),
    'etc/conf.d/20-vi2.conf': instance().replace('VI_1', 'VI_2').replace('eth0', 'eth2'),
    'etc/conf.d/10-vi1.conf': instance(),
    'etc/conf.d/.hidden.conf': 'this is not read\n',
    'etc/conf.d/notes.txt': 'nor this\n',
    'etc/extra/a.inc': instance().replace('VI_1', 'VI_A').replace('eth0', 'eth3'),
    'etc/extra/b.inc': instance().replace('VI_1', 'VI_B').replace('eth0', 'eth4'),
  };
  const result = await loadText('include etc/main.conf\n', {}, files);
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(
    result.config?.instances.map((i) => [i.name, i.source.file]),
    [
      ['VI_1', 'etc/conf.d/10-vi1.conf'],
      ['VI_2', 'etc/conf.d/20-vi2.conf'],
      ['VI_B', 'etc/extra/b.inc'],
      ['VI_A', 'etc/extra/a.inc'],
    ],
  );
});

test('include: errors name the file and line of the included text', async () => {
  const files = { 'inc/bad.conf': conf('vrrp_instance VI_1 {', '    prority 1', '}') };
  assert.deepEqual(await diagnosticsOf('include inc/bad.conf\n', {}, files), [
    'inc/bad.conf:1:15: error: vrrp_instance VI_1 has no virtual_router_id',
    'inc/bad.conf:1:15: warning: vrrp_instance VI_1 has no virtual_ipaddress',
    'inc/bad.conf:1:15: error: vrrp_instance VI_1 has no interface',
    "inc/bad.conf:2:5: error: unknown keyword 'prority' in vrrp_instance VI_1 (did you mean 'priority'?)",
  ]);
});

test('include: a cycle is an error; a wildcard matching nothing is a warning (includea: an error)', async () => {
  assert.deepEqual(await diagnosticsOf('include test.conf\n'), [
    "test.conf:1:9: error: 'test.conf' includes itself (include cycle)",
  ]);
  assert.deepEqual(await diagnosticsOf(conf('include none/*.conf') + instance()), [
    "test.conf:1:9: warning: 'include none/*.conf' matches no file",
  ]);
  assert.deepEqual(await diagnosticsOf(conf('includea none/*.conf') + instance()), [
    "test.conf:1:10: error: 'includea none/*.conf' matches no file",
  ]);
});

test('a block brace may open on the next line, and a block may sit on one line', async () => {
  const result = await loadText(
    conf(
      'vrrp_script chk',
      '{',
      '    script /bin/true',
      '}',
      'vrrp_instance VI_1',
      '{',
      '    interface eth0',
      '    virtual_router_id 5',
      '    virtual_ipaddress { 192.0.2.1 }',
      '    track_script { chk }',
      '}',
    ),
  );
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(result.config?.instances[0]?.trackScripts, [{ name: 'chk', weight: 0, reverse: false }]);
  assert.equal(result.config?.instances[0]?.vips[0]?.address, '192.0.2.1');
});
