/*!
 * bcoin.ts - the one place lib/ loads bcoin from, after the leveldown fix.
 */

import './compat';
import bcoin = require('bcoin');

export = bcoin;
