/**
 * Module-graph rules, checked by `npm run lint` (depcruise). Type-only imports count as
 * dependencies (tsPreCompilationDeps), so a cycle through `import type` fails as well.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
    forbidden: [
        {
            name: "no-circular",
            severity: "error",
            comment: "A module must not depend on itself through others: move the shared types or pure helpers into their own module.",
            from: {},
            to: { circular: true },
        },
        {
            name: "no-test-imports-from-production",
            severity: "error",
            comment: "The library, the policy pack, the tools and the program must run without the test harness.",
            from: { path: "^(components|policy|tools|examples)/|^index\\.ts$" },
            to: { path: "^test/" },
        },
    ],
    options: {
        tsPreCompilationDeps: true,
        tsConfig: { fileName: "tsconfig.json" },
        doNotFollow: { path: "node_modules" },
        exclude: { path: "(^|/)node_modules/|^dist/" },
        moduleSystems: ["cjs", "es6"],
    },
};
