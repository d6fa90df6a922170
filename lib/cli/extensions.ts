/*!
 * extensions.ts - the extensions cloudcoind loads, and loading by path.
 *
 * The composition root: the one module in lib/ that imports every
 * extension. It sits beside the daemon's entry point (as bcoin's bin/node
 * picks its plugins) so that lib/node and lib/base, which extensions build
 * on, never import an extension.
 */

import * as fs from 'fs';
import * as path from 'path';
import { CodedError } from '../base/errors';
import type { ExtensionModule } from '../base/extension';
import * as negotiator from '../negotiator';
import * as contracts from '../contracts';
import * as hosting from '../hosting';
import * as deals from '../deals';
import * as reputation from '../reputation';

/** Why a module cannot be loaded as an extension. */
export type ExtensionCode = 'load-failed' | 'no-exports' | 'bad-id' | 'no-init' | 'bad-options';

/** A module given with --extension that is not an extension. */
export class ExtensionError extends CodedError<ExtensionCode> {}

/** Extensions every cloudcoind loads, in dependency order. */
export function defaultExtensions(): ExtensionModule[] {
  return [negotiator, contracts, reputation, hosting, deals];
}

/** Check that a loaded module has the shape of an extension. */
export function asExtension(mod: unknown, where: string): ExtensionModule {
  const m = (mod && typeof mod === 'object' && 'default' in mod && !('init' in mod))
    ? (mod as { default: unknown }).default
    : mod;
  if (!m || typeof m !== 'object')
    throw new ExtensionError('no-exports', `${where} is not an extension: it exports nothing.`);
  const ext = m as Partial<ExtensionModule>;
  if (typeof ext.id !== 'string' || !/^[a-z][a-z0-9-]*$/.test(ext.id))
    throw new ExtensionError('bad-id', `${where} is not an extension: missing or bad \`id\`.`);
  if (typeof ext.init !== 'function')
    throw new ExtensionError('no-init', `${where} is not an extension: missing \`init(node)\`.`);
  if (ext.options !== undefined && !Array.isArray(ext.options))
    throw new ExtensionError('bad-options', `${where} is not an extension: \`options\` must be an array.`);
  return ext as ExtensionModule;
}

/** Load an extension module from a file path (`--extension PATH`). */
export function loadExtension(file: string): ExtensionModule {
  const resolved = path.resolve(file);
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(resolved);
  } catch (e) {
    // Node's message goes on with a "Require stack:" list: the first line says it all.
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'MODULE_NOT_FOUND' && !fs.existsSync(resolved) ? 'no such file'
      : err.message.split('\n')[0];
    throw new ExtensionError('load-failed', `Cannot load extension ${file}: ${why}`);
  }
  return asExtension(mod, file);
}
