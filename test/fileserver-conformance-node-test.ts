// The file server conformance suite (test/util/fileserver-conformance.ts)
// against the Node server (in process, test hooks on).
import { runConformance } from './util/fileserver-conformance';

runConformance('node');
