import { expect, Page, test } from "@playwright/test";
import { createOwner, open, selectByText, signIn, waitForHydration } from "./support";
import { TargetPage } from "./target";

/** Creates a keyword monitor of `target` every 10 s and a scale-out reaction on the sandbox's api app. */
async function monitorWithReaction(page: Page, target: TargetPage): Promise<void> {
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

  await open(page, "/reactions/new?kind=scale_out");
  await selectByText(page.getByLabel("Heroku app"), /^api-.* · simulated/);
  await page.getByRole("button", { name: "Continue with this app" }).click();
  await waitForHydration(page);
  await page.getByLabel("Name").fill("More API dynos");
  await selectByText(page.getByLabel("Monitor"), /^Storefront/);
  await page.getByLabel("Process type").selectOption("web");
  await page.getByLabel("Maximum dyno quantity").fill("3");
  await page.getByRole("button", { name: "Create reaction" }).click();
  await expect(page.getByRole("heading", { name: /More API dynos/ })).toBeVisible();
}

test("an execution appears on the open timeline and overview without reload", async ({ page, context }) => {
  test.setTimeout(150_000);
  const target = await TargetPage.start();
  try {
    const owner = createOwner("timeline");
    await signIn(page, owner.email);
    await monitorWithReaction(page, target);

    await open(page, "/timeline");
    const overview = await context.newPage();
    await open(overview, "/");
    await expect(overview.getByTestId("apps")).toContainText("Storefront");
    await expect(overview.getByTestId("apps")).toContainText(/web 1 × Performance-M/);

    // Neither page is reloaded from here on: a reload would reset this marker.
    for (const opened of [page, overview]) {
      await opened.evaluate(() => document.body.setAttribute("data-not-reloaded", "yes"));
    }
    target.healthy = false;

    const timeline = page.getByTestId("timeline");
    await expect(timeline.getByRole("row", { name: /More API dynos.*web 1 → 2.*Succeeded/ })).toBeVisible({
      timeout: 60_000,
    });
    await expect(timeline.getByRole("row", { name: /Monitor Storefront.*Failed/ }).first()).toBeVisible();
    await expect(overview.getByTestId("latest")).toContainText("web 1 → 2", { timeout: 20_000 });
    await expect(overview.getByTestId("monitor-counts")).toContainText(/1\s*Failed/);
    for (const opened of [page, overview]) {
      await expect(opened.locator("body")).toHaveAttribute("data-not-reloaded", "yes");
    }

    // The filters find the step again, and the app filter draws its dynos.
    await page.getByLabel("Outcome").selectOption("succeeded");
    await selectByText(page.getByLabel("App"), /^api-/);
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect(page).toHaveURL(/outcome=succeeded/);
    await expect(page.getByRole("heading", { name: /Dynos of api-/ })).toBeVisible();
    await expect(page.getByTestId("timeline").getByRole("row", { name: /web 1 → 2/ })).toBeVisible();
    await overview.close();
  } finally {
    await target.stop();
  }
});
