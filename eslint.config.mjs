// Type-aware lint: the two @pulumi/eslint-plugin rules catch Outputs used in template literals.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
    { ignores: ["node_modules/**", ".sandbox/**", "bench/results/**", "dist/**", "examples/*/node_modules/**"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    // CommonJS config files (.dependency-cruiser.cjs).
    { files: [".dependency-cruiser.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable" } } },
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // node:test's test()/describe() return promises the runner itself tracks.
            "@typescript-eslint/no-floating-promises": [
                "error",
                {
                    allowForKnownSafeCalls: [
                        { from: "package", package: "node:test", name: ["test", "describe", "it", "suite", "before", "after", "beforeEach", "afterEach"] },
                    ],
                },
            ],
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
        },
    },
);
