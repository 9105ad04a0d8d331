import { expect, test } from "@playwright/test";
import { createOwner, open, signIn } from "./support";

test("admin creates an API token, a script uses it, and revoking it ends access", async ({ page }) => {
  const owner = createOwner("tokens");
  await signIn(page, owner.email);
  await page.getByRole("link", { name: "API", exact: true }).click();
  await expect(page.getByRole("heading", { name: "API", exact: true })).toBeVisible();
  await expect(page.getByText("No API tokens yet.")).toBeVisible();

  await page.getByLabel("Name").fill("deploy script");
  await page.getByLabel("Role").selectOption("editor");
  await page.getByLabel("Expires after").selectOption("30");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = await page.getByLabel("New API token").inputValue();
  expect(token).toMatch(/^rbd_[A-Za-z0-9_-]{43}$/);
  const row = page.getByRole("row", { name: /deploy script/ });
  await expect(row.getByRole("cell", { name: "Editor", exact: true })).toBeVisible();
  await expect(row.getByRole("cell", { name: "Active", exact: true })).toBeVisible();
  await expect(row).toContainText(token.slice(0, 12));
  await expect(row).not.toContainText(token.slice(12));

  // A script with the token: no cookies, only the header.
  const headers = { authorization: `Bearer ${token}` };
  const created = await page.context().request.fetch("/api/v1/monitors", {
    method: "POST",
    headers,
    data: { name: "nightly backup", kind: "heartbeat", interval_secs: 3600 },
  });
  expect(created.status()).toBe(201);
  expect((await created.json()).spec.name).toBe("nightly backup");
  const listed = await page.context().request.get("/api/v1/monitors", { headers });
  expect(listed.status()).toBe(200);
  expect(listed.headers()["ratelimit-limit"]).toBe("300");

  await open(page, "/settings/api");
  const lastUsed = page.getByRole("row", { name: /deploy script/ }).getByRole("cell").nth(4);
  await expect(lastUsed).not.toHaveText("—");
  const listedRow = page.getByRole("row", { name: /deploy script/ });
  await listedRow.getByText("Revoke…").click();
  await listedRow.getByRole("button", { name: "Revoke deploy script" }).click();
  await expect(page.getByRole("row", { name: /deploy script/ }).getByRole("cell", { name: "Revoked" })).toBeVisible();
  const refused = await page.context().request.get("/api/v1/monitors", { headers });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe("unauthenticated");
});

test("the API reference lists the endpoints from the OpenAPI document", async ({ page }) => {
  const owner = createOwner("reference");
  await signIn(page, owner.email);
  await open(page, "/settings/api");
  await page.getByRole("link", { name: "API reference" }).click();
  await expect(page.getByRole("heading", { name: "API reference" })).toBeVisible();
  const monitors = page.getByTestId("endpoints-monitors");
  await expect(monitors.getByRole("row", { name: "POST /api/v1/monitors Create a monitor" })).toBeVisible();
  const executions = page.getByTestId("endpoints-executions");
  await expect(executions.getByRole("row", { name: /GET \/api\/v1\/executions List executions/ })).toBeVisible();
});

test("configuration file imports after a dry run and exports again", async ({ page }) => {
  const owner = createOwner("config");
  await signIn(page, owner.email);
  await open(page, "/settings/config");
  const file = "version: 1\nmonitors:\n- name: nightly backup\n  kind: heartbeat\n  interval_secs: 3600\n  grace_secs: 600\n";
  await page.getByLabel("Configuration file").fill(file);
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByText("The import would:")).toBeVisible();
  await expect(page.getByTestId("import-changes")).toHaveText("create monitor nightly backup");

  await page.getByLabel("Configuration file").fill(file.replace("grace_secs: 600", "grace_sec: 600"));
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByText("Line 6, monitors[0]: unknown field `grace_sec`", { exact: false })).toBeVisible();

  await page.getByLabel("Configuration file").fill(file);
  await page.getByLabel("Dry run: only show what would change").uncheck();
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByText("Imported:")).toBeVisible();

  await page.getByRole("button", { name: "Export" }).click();
  const exported = page.getByLabel("Exported configuration");
  await expect(exported).toHaveValue(/- name: nightly backup\n  kind: heartbeat\n  interval_secs: 3600/);
  await expect(page.getByRole("link", { name: "Download the file" })).toHaveAttribute("download", "rebound-config.yaml");
});
