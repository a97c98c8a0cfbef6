/** Host tier: the SSH connection, the service account, the directories and the ownership repair. */
export * from "./connection";
export * from "./host-directories";
export * from "./ownership-repair";
export * from "./service-account";
