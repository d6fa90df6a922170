// The file server conformance suite (test/util/fileserver-conformance.ts)
// against Apache 2.4 + mod_php with the shipped .htaccess under /cc and shared-hosting php.ini limits.
import { runConformance } from './util/fileserver-conformance';

runConformance('apache');
