/** Host tier: the SSH connection, the service account, the directories, the ownership repair and the version guard. */
export * from "./connection";
export * from "./host-directories";
export * from "./ownership-repair";
export * from "./service-account";
export * from "./version-guard";
