import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS, MAIN_DATA_DIR, MAIN_PORT, reboundBinary } from "./tests/support";

const baseURL = `http://127.0.0.1:${MAIN_PORT}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 2,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: { executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS },
  },
  // One shared instance with a fresh data directory per run; tests create
  // their own users and teams in it. Tests that need an empty instance start
  // their own (see support.ts). Its Heroku is the built-in sandbox, API and
  // OAuth alike, so no test reaches the real Heroku.
  webServer: {
    command:
      `rm -rf ${MAIN_DATA_DIR} && ${reboundBinary()} --data-dir ${MAIN_DATA_DIR} --host 127.0.0.1 --port ${MAIN_PORT}` +
      ` --sandbox --heroku-api-url ${baseURL}/sandbox --heroku-oauth-url ${baseURL}/sandbox` +
      ` --heroku-oauth-id e2e-client --heroku-oauth-secret e2e-secret --allow-private-targets`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
