// Not a PD program: no default export made by protectionDomain().
export const notAProgram = 1;
