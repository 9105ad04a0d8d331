import { expect, test } from "@playwright/test";
import { Instance, PASSWORD, waitForHydration } from "./support";

test.describe("first run", () => {
  let instance: Instance;

  test.beforeEach(async () => {
    instance = await Instance.start();
  });

  test.afterEach(async () => {
    await instance.stop();
  });

  test("first account, sign out, wrong password, sign in", async ({ page }) => {
    await page.goto(instance.url);
    await expect(page).toHaveURL(`${instance.url}/setup`);
    await waitForHydration(page);

    await page.getByLabel("Email").fill("founder@example.com");
    await page.getByLabel("Password").fill("short");
    await page.getByLabel("Team name").fill("Platform");
    // The browser's own minlength check would stop the form; the server's
    // message is what this test reads.
    await page.locator("form").evaluate((form) => form.setAttribute("novalidate", ""));
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("Password is too short (5 characters); use at least 10.")).toBeVisible();
    await expect(page.getByLabel("Email")).toHaveValue("founder@example.com");
    await expect(page.getByLabel("Team name")).toHaveValue("Platform");

    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Platform" })).toBeVisible();
    await expect(page.getByTestId("current-team")).toContainText("Platform");
    await expect(page.getByTestId("current-team")).toContainText("Owner");
    await waitForHydration(page);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(`${instance.url}/login`);
    await waitForHydration(page);

    await page.getByLabel("Email").fill("founder@example.com");
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText("Email or password is incorrect.")).toBeVisible();

    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Platform" })).toBeVisible();

    await page.goto(`${instance.url}/setup`);
    await expect(page).toHaveURL(`${instance.url}/`);
  });
});
