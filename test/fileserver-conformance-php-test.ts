// The file server conformance suite (test/util/fileserver-conformance.ts)
// against PHP's built-in server (php -S, 4 workers).
import { runConformance } from './util/fileserver-conformance';

runConformance('php');
