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

test("timeline filters work with JavaScript disabled", async ({ page }) => {
  const owner = createOwner("nojs-timeline");
  await page.goto("/login");
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Timeline", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Timeline", exact: true })).toBeVisible();

  await page.getByLabel("Outcome").selectOption("failed");
  await page.getByLabel(/^From/).fill("2026-12-01T08:00");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/outcome=failed/);
  await expect(page).toHaveURL(/since=2026-12-01T08%3A00/);
  await expect(page.getByText("Nothing matches these filters.")).toBeVisible();
  await expect(page.getByLabel("Outcome")).toHaveValue("failed");
  await expect(page.getByRole("link", { name: "Refresh" })).toHaveAttribute("href", /outcome=failed/);

  await page.goto("/timeline?since=2026-02-30");
  await expect(page.getByRole("alert")).toContainText('From: "2026-02-30" is not a date and time');
});
