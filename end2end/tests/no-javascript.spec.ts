import { expect, test } from "@playwright/test";
import { PASSWORD, createOwner } from "./support";

test.use({ javaScriptEnabled: false });

test("sign in works with JavaScript disabled", async ({ page }) => {
  const owner = createOwner("nojs");
  await page.goto("/team");
  await expect(page).toHaveURL(/\/login\?next=%2Fteam$/);

  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Email or password is incorrect.")).toBeVisible();

  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/team$/);
  await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
  await expect(page.getByTestId("current-team")).toContainText(owner.team);
});

test("connecting the sandbox works with JavaScript disabled", async ({ page }) => {
  const owner = createOwner("nojs-heroku");
  await page.goto("/login");
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.goto("/connections");

  await page.getByLabel("Heroku API key").fill("HRKU-not-a-key");
  await page.getByRole("button", { name: "Connect with API key" }).click();
  await expect(page.getByText("Heroku rejected this API key", { exact: false })).toBeVisible();

  await page.getByRole("button", { name: "Connect a sandbox account" }).click();
  const row = page.getByRole("row", { name: /sandbox-user-.*Simulated/ });
  await expect(row).toBeVisible();
  await row.getByRole("link", { name: "Apps" }).click();
  await page.getByRole("link", { name: /^shop-/ }).click();
  await expect(page.getByTestId("formation").getByRole("row", { name: /web 2 Standard-1X/ })).toBeVisible();
  await page.getByRole("button", { name: "Refresh" }).click();
  await expect(page.getByTestId("formation").getByRole("row", { name: /web 2 Standard-1X/ })).toBeVisible();
});
