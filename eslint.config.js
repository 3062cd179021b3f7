// ESLint for the browser's scripts in static/js (`make lint`; the versions are in
// package.json and package-lock.json, installed by `make lint` through `npm ci`).
// Every script is a classic <script> (no bundler, no modules: the CSP allows only our own
// files), so each one keeps its names inside an IIFE; the service worker is a script of
// its own whose top level is the worker's scope, not a page's.
"use strict";
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: { ...globals.browser, L: "readonly" },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      ...js.configs.recommended.rules,
      // Bugs these catch that the recommended set lets through.
      eqeqeq: ["error", "always"],
      "no-implicit-globals": ["error", { lexicalBindings: true }],
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-shadow": ["error", { builtinGlobals: false }],
      "no-var": "off",
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-throw-literal": "error",
      "no-self-compare": "error",
      "no-unmodified-loop-condition": "error",
      "no-unreachable-loop": "error",
      "no-promise-executor-return": "error",
      "no-constant-binary-expression": "error",
      "array-callback-return": "error",
      "consistent-return": "off",
      "default-case-last": "error",
      "no-loop-func": "error",
      radix: "error",
      strict: ["error", "safe"],
    },
  },
  {
    // The service worker (served as /r/sw.js): the worker's globals; its top level is the
    // worker's own scope, shared with no page, so top-level names are not a leak; and it is
    // strict code because the server writes "use strict" in front of it
    // (blueprints/response/offline.py), before the constants it also writes there.
    files: ["static/js/sw.js"],
    languageOptions: {
      globals: { ...globals.serviceworker },
      parserOptions: { ecmaFeatures: { impliedStrict: true } },
    },
    rules: { "no-implicit-globals": "off", strict: "off" },
  },
  {
    // This file itself, run by Node.
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: { ...globals.node } },
    rules: { ...js.configs.recommended.rules },
  },
];
