// A Comlink-exposed object in a worker: `echo(bytes)` returns its argument.
import { parentPort } from "node:worker_threads";
import * as Comlink from "comlink";
import nodeEndpoint from "comlink/dist/umd/node-adapter.js";

Comlink.expose({ echo: (bytes) => bytes }, nodeEndpoint(parentPort));
