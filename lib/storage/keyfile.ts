/*!
 * keyfile.ts - a store directory's admin key file (`admin.key`, 64 hex,
 * mode 0600). Shared by the file server and the node's local backend so a
 * directory made by either can be served by the other.
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { parseAdminKey } from './adminauth';
import { mkdirDurable, writeFileAtomic } from './fsutil';

/** Name of the key file inside a store directory. */
export const ADMIN_KEY_FILE = 'admin.key';

/** Reads `dir/admin.key`, creating it with a fresh key if missing. */
export function readOrCreateAdminKey(dir: string): { key: Buffer; created: boolean; file: string } {
  const file = path.join(dir, ADMIN_KEY_FILE);
  if (fs.existsSync(file)) {
    const key = parseAdminKey(fs.readFileSync(file, 'utf8'));
    if (!key)
      throw new Error(`${file} does not hold a 64 hex admin key`);
    return { key, created: false, file };
  }
  // Not mkdirSync's recursive: Node 20 loops for ever under /proc.
  mkdirDurable(dir);
  const key = randomBytes(32);
  writeFileAtomic(file, `${key.toString('hex')}\n`, 0o600);
  return { key, created: true, file };
}
