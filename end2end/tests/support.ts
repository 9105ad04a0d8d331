// Helpers shared by the browser tests: the rebound binary, fresh users made
// with its `user create` command, fresh instances, and hydration waits.
import { execFileSync, spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, Locator, Page } from "@playwright/test";

export const MAIN_PORT = Number(process.env.REBOUND_E2E_PORT ?? 3100);
export const MAIN_DATA_DIR = path.resolve(__dirname, "../../target/e2e-data");
export const PASSWORD = "correct horse battery";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The binary under test: REBOUND_BIN, else the debug build. */
export function reboundBinary(): string {
  return process.env.REBOUND_BIN ?? path.resolve(__dirname, "../../target/debug/rebound");
}

/** The environment without settings that would redirect the binary. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name === "DATABASE_URL" || name === "PORT" || name.startsWith("REBOUND_")) delete env[name];
  }
  return { ...env, ...extra };
}

let counter = 0;

/** An email address no other test uses. */
export function uniqueEmail(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

/** Creates an account owning a new team in the shared instance. */
export function createOwner(label: string): { email: string; team: string } {
  const email = uniqueEmail(label);
  const team = `Team ${label} ${counter}`;
  execFileSync(reboundBinary(), ["--data-dir", MAIN_DATA_DIR, "user", "create", email, "--team", team], {
    input: `${PASSWORD}\n`,
    env: cleanEnv({ REBOUND_LOG: "warn" }),
  });
  return { email, team };
}

/** Navigates and waits until the page is hydrated, so clicks are not lost. */
export async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await waitForHydration(page);
}

export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await open(page, "/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  await waitForHydration(page);
}

/** A separate, empty instance for tests about first-run behaviour. */
export class Instance {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dataDir: string,
  ) {}

  static async start(): Promise<Instance> {
    const dataDir = mkdtempSync(path.join(tmpdir(), "rebound-e2e-"));
    const child = spawn(reboundBinary(), ["--data-dir", dataDir, "--host", "127.0.0.1", "--port", "0"], {
      env: cleanEnv({ REBOUND_LOG: "info" }),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let buffer = "";
      const timer = setTimeout(() => reject(new Error("rebound did not report its address in 30 s")), 30_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        const match = buffer.match(/address=(\S+)/);
        if (match) {
          clearTimeout(timer);
          resolve(`http://${match[1]}`);
        }
      });
      child.on("exit", (code) => reject(new Error(`rebound exited early with ${code}`)));
    });
    return new Instance(url, child, dataDir);
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Selects the option whose text matches `text`. */
export async function selectByText(select: Locator, text: RegExp): Promise<void> {
  const value = await select.locator("option", { hasText: text }).first().getAttribute("value");
  expect(value, `an option matching ${text}`).not.toBeNull();
  await select.selectOption(value!);
}
