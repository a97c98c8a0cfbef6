/** Host tier: the SSH connection, install detection and takeover, the daemon token carry-over, the service account, the directories, the ownership repair and the version guard. */
export * from "./connection";
export * from "./daemon-token-carry-over";
export * from "./host-directories";
export * from "./host-target";
export * from "./install-detection";
export * from "./installer-takeover";
export * from "./ownership-repair";
export * from "./service-account";
export * from "./takeover-confirmation";
export * from "./version-guard";
