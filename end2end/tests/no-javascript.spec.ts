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
