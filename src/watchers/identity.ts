/**
 * User and group names to numeric ids, for scripts that run as `user USER [GROUP]` or `script_user`. Names
 * resolve through getent (so NSS sources such as LDAP count), or through /etc/passwd and /etc/group when getent
 * is not installed. A name that does not resolve is an error at start, never a script run as root by accident.
 */
import { childProcess } from '../core/builtins.js';
import { readFileSync } from 'node:fs';
import { TandemError } from '../errors.js';

export interface Identity {
  uid: number;
  gid: number;
}

export class ScriptUserError extends TandemError {
  constructor(message: string) {
    super('TANDEM_ESCRIPTUSER', message);
  }
}

/** One `name:x:id:...` entry of passwd or group, looked up by name or by number. */
export type EntryLookup = (database: 'passwd' | 'group', key: string) => string[] | undefined;

const DATABASE_FILES = { passwd: '/etc/passwd', group: '/etc/group' } as const;

function fromFile(path: string, key: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && (fields[0] === key || fields[2] === key)) return fields;
  }
  return undefined;
}

/** getent first; the files when getent itself is missing (getent exits 2 for "not found"). */
export const systemLookup: EntryLookup = (database, key) => {
  try {
    const line = childProcess().execFileSync('getent', [database, key], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const first = line.split('\n')[0];
    return first ? first.split(':') : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fromFile(DATABASE_FILES[database], key);
    return undefined;
  }
};

function idField(fields: string[] | undefined, index: number): number | undefined {
  const text = fields?.[index];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** The uid and gid to run as: the user's, or the named group's gid when a group is given. */
export function resolveIdentity(user: string, group?: string, lookup: EntryLookup = systemLookup): Identity {
  const passwd = lookup('passwd', user);
  const uid = idField(passwd, 2);
  if (uid === undefined) {
    throw new ScriptUserError(`expected a user named '${user}' for running scripts, found no such user`);
  }
  if (group === undefined) {
    const gid = idField(passwd, 3);
    if (gid === undefined)
      throw new ScriptUserError(`expected the passwd entry of '${user}' to name a group id, found none`);
    return { uid, gid };
  }
  const gid = idField(lookup('group', group), 2);
  if (gid === undefined) {
    throw new ScriptUserError(`expected a group named '${group}' for running scripts, found no such group`);
  }
  return { uid, gid };
}
