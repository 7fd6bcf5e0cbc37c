// ESLint flat config: typescript-eslint's recommended rules plus a few that
// keep the pure core honest (no clocks, no randomness of its own).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".tools/**", "data/**", "src/gen/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // The consensus core and the job state machine are pure: time and
    // randomness come from the caller, so replicas never diverge.
    files: ["src/raft/**/*.ts", "src/jobs/**/*.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "pure core: take time from the caller" },
        { object: "Math", property: "random", message: "pure core: take randomness from the caller" },
        { object: "performance", property: "now", message: "pure core: take time from the caller" },
      ],
      "no-restricted-globals": ["error", "setTimeout", "setInterval", "setImmediate", "process"],
      "no-restricted-imports": ["error", { patterns: ["node:*", "fs", "net", "http", "@grpc/*"] }],
    },
  },
);
