// A Comlink-exposed object in a worker: `echo(bytes)` returns its argument. Comlink 4's Node adapter is
// comlink/dist/umd/node-adapter.js (its module.exports is the adapter function).
import { parentPort } from "node:worker_threads";
import * as Comlink from "comlink";
import nodeEndpoint from "comlink/dist/umd/node-adapter.js";

Comlink.expose({ echo: (bytes) => bytes }, nodeEndpoint(parentPort));
parentPort.postMessage({ ready: true });
