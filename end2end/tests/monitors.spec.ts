import { expect, test } from "@playwright/test";
import { createOwner, open, signIn, waitForHydration } from "./support";
import { TargetPage } from "./target";

test("keyword monitor goes Healthy, then Failed after two failing checks", async ({ page }) => {
  // Checks run every 10 s at the fastest; the failure needs two of them.
  test.setTimeout(120_000);
  const target = await TargetPage.start();
  try {
    const owner = createOwner("monitor");
    await signIn(page, owner.email);
    await open(page, "/monitors/new?kind=keyword");

    // A bad field first: the message names it and the other values stay.
    await page.getByLabel("Name").fill("Shop status");
    await page.getByLabel("URL").fill("not a url");
    await page.getByLabel("Keyword", { exact: true }).fill("all systems operational");
    await page.locator("form.card").evaluate((form) => form.setAttribute("novalidate", ""));
    await page.getByRole("button", { name: "Create monitor" }).click();
    await expect(page.getByText(/URL "not a url" is invalid/)).toBeVisible();
    await expect(page.getByLabel("Name")).toHaveValue("Shop status");

    await page.getByLabel("URL").fill(target.url);
    await page.getByLabel("Check every").selectOption({ label: "10 s" });
    await page.getByLabel("Failures before Failed").fill("2");
    await page.getByRole("button", { name: "Create monitor" }).click();
    await expect(page.getByRole("heading", { name: /Shop status/ })).toBeVisible();
    await waitForHydration(page);

    const state = page.locator("h1 .state");
    await expect(async () => {
      await page.reload();
      await expect(state).toHaveText("Healthy", { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });

    target.healthy = false;
    const failedAt = Date.now();
    await expect(async () => {
      await page.reload();
      await expect(state).toHaveText("Failed", { timeout: 1_000 });
    }).toPass({ timeout: 45_000 });
    // Two checks 10 s apart: the first failure alone does not confirm it.
    expect(Date.now() - failedAt).toBeGreaterThan(9_000);

    await expect(page.getByRole("cell", { name: 'keyword "all systems operational" not found' }).first()).toBeVisible();
    const changes = page.locator("table").first();
    await expect(changes).toContainText("Healthy → Failed");

    await open(page, "/monitors");
    const row = page.getByRole("row", { name: /Shop status/ });
    await expect(row.locator(".state")).toHaveText("Failed");
  } finally {
    await target.stop();
  }
});

test("viewer sees monitors but no controls", async ({ page, browser }) => {
  const owner = createOwner("monitor-viewer");
  await signIn(page, owner.email);
  await open(page, "/monitors/new?kind=heartbeat");
  await page.getByLabel("Name").fill("Nightly export");
  await page.getByRole("button", { name: "Create monitor" }).click();
  await expect(page.getByLabel("Heartbeat URL")).toHaveValue(/\/ping\//);
  const monitorUrl = page.url();

  // Invite a viewer and look through their eyes.
  await open(page, "/team");
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const link = await page.getByLabel("Invitation link").inputValue();
  const context = await browser.newContext();
  const viewer = await context.newPage();
  await viewer.goto(link);
  await waitForHydration(viewer);
  await viewer.getByLabel("Email").fill(`viewer-${Date.now()}@example.com`);
  await viewer.getByLabel("Password").fill("correct horse battery");
  await viewer.getByRole("button", { name: "Create account and join" }).click();
  await expect(viewer.getByTestId("current-team")).toContainText("Viewer");
  await viewer.goto(monitorUrl);
  await expect(viewer.getByRole("heading", { name: /Nightly export/ })).toBeVisible();
  await expect(viewer.getByRole("button", { name: "Check now" })).toHaveCount(0);
  await expect(viewer.getByLabel("Heartbeat URL")).toHaveCount(0);
  await context.close();
});
