/**
 * Applications the unit tests share: one per user mode (explicit uid:gid, the service account,
 * the image's own user with a pinned volume owner), three with volumes, one without.
 */
import type { ApplicationArgs } from "../../components/replicated-host-args";

/** The volume root the applications' volumes lie below (`replicated:volumeRoots`). */
export const VOLUME_ROOT = "/srv/replicated-volumes";

/** An application per user mode, with volumes, and one without. */
export const APPLICATIONS_PER_USER_MODE: readonly ApplicationArgs[] = [
    {
        name: "app-explicit",
        image: "registry.example.com/acme/explicit:1.0.0",
        user: "1234:1234",
        volumes: [{ hostPath: `${VOLUME_ROOT}/explicit`, containerPath: "/data" }],
        ports: [{ internal: 8080, external: 18080 }],
    },
    { name: "app-service", image: "registry.example.com/acme/service:1.0.0", user: "service", volumes: [{ hostPath: `${VOLUME_ROOT}/service`, containerPath: "/data", mode: "0770" }] },
    {
        name: "app-image",
        image: "registry.example.com/acme/imageuser:1.0.0",
        volumes: [{ hostPath: `${VOLUME_ROOT}/image`, containerPath: "/data", owner: 4321, group: 4321, readOnly: true }],
    },
    { name: "app-plain", image: "registry.example.com/acme/plain:1.0.0", user: "2000:2000" },
];
