import { expect, test } from "@playwright/test";
import { createOwner, open, selectByText, signIn, waitForHydration } from "./support";
import { TargetPage } from "./target";

test("scale-out reaction takes web 1 → 2 → 3 and stops at its bound", async ({ page }) => {
  // Three failing checks at the fastest interval (10 s) plus the first healthy one.
  test.setTimeout(150_000);
  const target = await TargetPage.start();
  try {
    const owner = createOwner("reaction");
    await signIn(page, owner.email);

    await open(page, "/connections");
    await page.getByRole("button", { name: "Connect a sandbox account" }).click();
    await expect(page.getByRole("row", { name: /sandbox-user-.*Simulated/ })).toBeVisible();

    await open(page, "/monitors/new?kind=keyword");
    await page.getByLabel("Name").fill("Storefront");
    await page.getByLabel("URL").fill(target.url);
    await page.getByLabel("Keyword", { exact: true }).fill("all systems operational");
    await page.getByLabel("Check every").selectOption({ label: "10 s" });
    await page.getByRole("button", { name: "Create monitor" }).click();
    await expect(page.getByRole("heading", { name: /Storefront/ })).toBeVisible();

    // The api demo app runs one Performance-M web dyno.
    await open(page, "/reactions/new?kind=scale_out");
    await selectByText(page.getByLabel("Heroku app"), /^api-.* · simulated/);
    await page.getByRole("button", { name: "Continue with this app" }).click();
    await waitForHydration(page);
    await page.getByLabel("Name").fill("More API dynos");
    await selectByText(page.getByLabel("Monitor"), /^Storefront/);
    await page.getByLabel("Process type").selectOption("web");
    await page.getByLabel("Maximum dyno quantity").fill("3");
    await page.getByRole("button", { name: "Preview next trigger" }).click();
    await expect(page.getByTestId("form-preview")).toHaveText("Next trigger: web 1 → 2 (max 3)");
    await page.getByRole("button", { name: "Create reaction" }).click();
    await expect(page.getByRole("heading", { name: /More API dynos/ })).toBeVisible();
    await expect(page.getByTestId("preview")).toHaveText("Next trigger: web 1 → 2 (max 3)");
    const reactionUrl = page.url();

    target.healthy = false;
    const executions = page.locator("table.executions");
    await expect(async () => {
      await page.reload();
      await expect(executions).toContainText("web is at max 3", { timeout: 1_000 });
    }).toPass({ timeout: 90_000 });
    await expect(executions.getByRole("row", { name: /Succeeded web 1 → 2/ })).toBeVisible();
    await expect(executions.getByRole("row", { name: /Succeeded web 2 → 3/ })).toBeVisible();
    await expect(executions.getByRole("row", { name: /At bound web is at max 3/ })).toHaveCount(1);
    await expect(page.getByTestId("preview")).toHaveText("At bound: web is at max 3; a trigger does nothing (max 3)");

    // Heroku (the sandbox) agrees.
    await open(page, "/connections");
    await page.getByRole("link", { name: "Apps" }).first().click();
    await page.getByRole("link", { name: /^api-/ }).click();
    await expect(page.getByTestId("formation").getByRole("row", { name: /web 3 Performance-M/ })).toBeVisible();

    // Opened by its URL, the edit page hydrates what the server rendered.
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await open(page, `${reactionUrl}/edit`);
    await page.getByRole("button", { name: "Preview next trigger" }).click();
    await expect(page.getByTestId("form-preview")).toContainText("At bound: web is at max 3");
    await expect(page.getByRole("heading", { name: "Edit reaction" })).toHaveCount(1);
    expect(errors).toEqual([]);
  } finally {
    await target.stop();
  }
});
