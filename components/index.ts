/**
 * The library entry: every component with its Args, the pure helpers they are built from, and the
 * stack-config parser the program feeds them with. Re-exports only.
 */
export * from "./apps";
export * from "./config";
export * from "./docker";
export * from "./host";
export * from "./ops";
export * from "./replicated-host";
export * from "./shell";
