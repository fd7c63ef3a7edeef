/**
 * The agent's private runtime directory (control socket, FIFOs): created mode 0700, owned by root, never /tmp.
 * An existing directory with looser permissions is tightened, and one owned by someone else is refused, since
 * whoever controls it could swap the control socket.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { TandemError } from '../errors.js';

export class RuntimeDirError extends TandemError {
  constructor(message: string) {
    super('TANDEM_ERUNTIMEDIR', message);
  }
}

export function ensureRuntimeDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const stat = statSync(path);
  if (!stat.isDirectory()) throw new RuntimeDirError(`runtime directory ${path} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new RuntimeDirError(`runtime directory ${path} belongs to uid ${stat.uid}, expected ${uid}`);
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(path, 0o700);
}
