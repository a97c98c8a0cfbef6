/** Application containers: the stack's own containers with a custom user, and their volumes. */
export * from "./application-containers";
export * from "./application-spec";
