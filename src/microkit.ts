/**
 * `isokit/microkit`: what a seL4 Microkit PD program uses. The program's default export is
 * `protectionDomain({ init, notified, protected, fault })`; the runtime owns the loop and runs one entry point
 * at a time. `Channel` notifies and makes protected calls; the 64 message registers are read and written with
 * `getMr`/`setMr` (or as a whole with `withMsgRegs`/`withMsgBytes`).
 */

export { protectionDomain, Child } from "./pd/program.ts";
export type { Handler, ProgramOptions, ProtectionDomainProgram } from "./pd/program.ts";
export { Channel, ChannelSet } from "./pd/channel.ts";
export { MessageInfo, MAX_LABEL } from "./protocol/message-info.ts";
export { MR_COUNT } from "./protocol/layout.ts";
export {
  getMr,
  getMrBig,
  setMr,
  withMsgRegs,
  withMsgRegsMut,
  withMsgBytes,
  withMsgBytesMut,
  debugPrintln,
  pdName,
} from "./pd/registers.ts";
export type { ReadonlyMessageRegisters, ReadonlyMessageBytes } from "./pd/registers.ts";
