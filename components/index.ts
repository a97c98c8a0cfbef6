/**
 * The library entry: every component with its Args (ReplicatedHost's in replicated-host-args.ts,
 * the HostTarget every host-reaching component takes), the pure helpers they are built from, the
 * stack-config parser and the pure mapping from its result to the components' args
 * (args-from-config.ts), which the stack program uses. Re-exports only.
 */
export * from "./apps";
export * from "./args-from-config";
export * from "./config";
export * from "./docker";
export * from "./host";
export * from "./ops";
export * from "./replicated-host";
export * from "./shell";
