/**
 * Canned host outputs for the unit tier: the host model of the offline evaluation engine
 * (tools/offline/host-model.ts), re-exported where the tests have always found it.
 */
export * from "../../tools/offline/host-model";
