// One load generator thread of the viewer simulation (see viewer-sim.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { runViewerSlice, type ViewerSimOptions } from './viewer-sim.ts';

const { options, first, count } = workerData as { options: ViewerSimOptions; first: number; count: number };
parentPort!.postMessage(await runViewerSlice(options, first, count));
