/**
 * Inputs a deploy must refuse, shared by the unit tests that check the refusal in process and the
 * process tests that watch a whole run fail on them.
 */
import { createHash } from "node:crypto";
import { replicatedImageReference } from "../../components/docker";

/** What a stand-in VM reports as its address when that address is no host name or IP address. */
export const BAD_VM_ADDRESS = "not an address; rm -rf /";

/** The operator image of the channel and version the image tests pin. */
export const OPERATOR = replicatedImageReference("quay.io/replicated", "replicated-operator", "stable", "2.53.2");

/** A well-formed image id that no canned image has. */
export const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

/** The id the canned resolver reports for a reference. */
export const cannedId = (reference: string): string => `sha256:${createHash("sha256").update(reference).digest("hex")}`;
