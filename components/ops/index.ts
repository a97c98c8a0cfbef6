/** Elevated operations: on-demand, short-lived root helper containers (support bundle, volumes, snapshot). */
export * from "./elevated-operation";
export * from "./operation-spec";
