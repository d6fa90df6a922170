/*!
 * bdb.ts - the one place lib/ loads bdb from, after the leveldown fix.
 */

import './compat';
import bdb = require('bdb');

export = bdb;
