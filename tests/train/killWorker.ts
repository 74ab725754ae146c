/**
 * Trains in a child process and SIGKILLs itself after `killAt` training forward passes (mid-epoch, mid-step),
 * for the "checkpoint survives a kill" test. Usage: node --import tsx killWorker.ts <runDir> <killAt>
 */
import { train } from '../../src/train/trainer';
import { BASE_CONFIG, NUM_ITEMS, plantedData, useCpu } from './setup';
import { TinyModel } from './tinyModel';

const [runDir, killAt] = [process.argv[2], Number(process.argv[3])];
await useCpu();
const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
let calls = 0;
model.onCall = (_inputs, training) => {
  if (training && ++calls === killAt) process.kill(process.pid, 'SIGKILL');
};
await train(model, plantedData(), BASE_CONFIG, { runDir });
process.stdout.write('finished without being killed\n');
