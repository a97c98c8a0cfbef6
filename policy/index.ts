/**
 * The least-privilege PolicyPack: `pulumi preview --policy-pack policy`. Only wiring here: every
 * rule lives, pure and tested, in ./rules. Constructing a PolicyPack starts the policy server, so
 * nothing else (and no test) imports this file.
 */
import { PolicyPack, type PolicyConfigSchema, type ResourceValidationPolicy } from "@pulumi/policy";
import { RULES, ruleConfig, type Rule } from "./rules";

function toPolicy(rule: Rule): ResourceValidationPolicy {
    return {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        ...(rule.configSchema !== undefined ? { configSchema: rule.configSchema as unknown as PolicyConfigSchema } : {}),
        validateResource: (args, reportViolation) => {
            if (!rule.appliesTo.includes(args.type)) {
                args.notApplicable(`applies to ${rule.appliesTo.join(", ")}`);
            }
            // Pack config arrives per policy; the schema defaults are filled in by the CLI, and
            // again here so a missing config file behaves like the documented defaults.
            const config = ruleConfig(rule, { [rule.name]: args.getConfig<Record<string, unknown>>() });
            rule.validate({ type: args.type, props: args.props, name: args.name, urn: args.urn }, (message) => reportViolation(message), config);
        },
    };
}

new PolicyPack("replicated-least-privilege", {
    description: "Least privilege for Replicated 2.x hosts: non-root containers, no privileged mode or host namespaces, the Docker socket only where needed, no wildcard port bindings, pinned SSH host keys.",
    policies: RULES.map(toPolicy),
});
