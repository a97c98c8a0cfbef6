/**
 * The stack configuration: the only place that reads it. Every key of the `replicated` namespace
 * is read once (./parsing), validated against the schema (./schema) and the rules of each area
 * (host/, ops/, docker/, apps/), and reported with one message per bad key (./messages).
 */
export { CONFIG_NAMESPACE, DEFAULT_DATA_PREFIXES, DEV_STACK } from "./defaults";
export { isSystemAccountName, SYSTEM_ACCOUNT_NAMES } from "../host/account-rules";
export { hostKeyProblem } from "../host/host-rules";
export { configKey, ConfigError } from "./messages";
export { loadConfig, parseConfig, projectRoot, type LoadOptions, type RawConfig } from "./parsing";
export {
    CONFIG_KEYS,
    type ApplicationConfig,
    type HostConfig,
    type OperationsConfig,
    type ReplicatedConfig,
    type ServiceUserConfig,
    type SshKeyConfig,
} from "./schema";
