import { expect, Page, test } from "@playwright/test";
import { createOwner, open, signIn, waitForHydration } from "./support";

async function connectionsPage(page: Page): Promise<void> {
  const owner = createOwner("heroku");
  await signIn(page, owner.email);
  await open(page, "/connections");
  await expect(page.getByRole("heading", { name: "Heroku connections" })).toBeVisible();
}

test("owner connects the sandbox and sees its demo apps", async ({ page }) => {
  await connectionsPage(page);
  await page.getByRole("button", { name: "Connect a sandbox account" }).click();
  const row = page.getByRole("row", { name: /sandbox-user-.*Simulated/ });
  await expect(row).toBeVisible();
  await expect(row.getByRole("cell", { name: "OK", exact: true })).toBeVisible();

  await row.getByRole("link", { name: "Apps" }).click();
  await expect(page.getByRole("heading", { name: /Apps of sandbox-user-/ })).toContainText("Simulated");
  await expect(page.getByRole("link", { name: /^shop-/ })).toBeVisible();
  await expect(page.getByRole("link", { name: /^blog-/ })).toBeVisible();
  await expect(page.getByRole("cell", { name: "team acme-platform" })).toBeVisible();

  await page.getByRole("link", { name: /^shop-/ }).click();
  await waitForHydration(page);
  const formation = page.getByTestId("formation");
  await expect(formation.getByRole("row", { name: /web 2 Standard-1X/ })).toBeVisible();
  await expect(formation.getByRole("row", { name: /worker 1 Standard-2X/ })).toBeVisible();
  const dynos = page.getByTestId("dynos");
  await expect(dynos.getByRole("row", { name: /web\.1 up Standard-1X v4/ })).toBeVisible();
  await expect(dynos.getByRole("row", { name: /worker\.1 up/ })).toBeVisible();
  const releases = page.getByTestId("releases");
  await expect(releases.getByRole("row")).toHaveCount(5);
  await expect(releases.getByRole("row", { name: /v4\s*current succeeded Deploy 9a7f3d1/ })).toBeVisible();
  await page.getByRole("button", { name: "Refresh" }).click();
  await expect(page.getByRole("button", { name: "Refresh" })).toBeEnabled();

  await page.getByRole("link", { name: "← Apps" }).click();
  await page.getByRole("link", { name: /^api-/ }).click();
  const apiReleases = page.getByTestId("releases");
  await expect(apiReleases.getByRole("row")).toHaveCount(11);
  await expect(apiReleases.getByRole("row", { name: /v12\s*current succeeded/ })).toBeVisible();
  await expect(apiReleases.getByRole("row", { name: /v8 failed/ })).toBeVisible();
});

test("OAuth through the sandbox's consent page connects an account", async ({ page }) => {
  await connectionsPage(page);
  await page.getByRole("button", { name: "Connect with Heroku" }).click();
  await expect(page).toHaveURL(/\/sandbox\/oauth\/authorize\?/);
  await expect(page.getByText("Simulated Heroku")).toBeVisible();
  const email = `oauth-${Date.now()}@sandbox.example`;
  await page.getByLabel("Sandbox account email").fill(email);
  await page.getByRole("button", { name: "Allow access" }).click();

  await expect(page).toHaveURL(/\/connections\?connected=\d+$/);
  await expect(page.getByText("Heroku account connected.")).toBeVisible();
  const row = page.getByRole("row", { name: new RegExp(email) });
  await expect(row.getByRole("cell", { name: "OAuth", exact: true })).toBeVisible();
  await expect(row.getByRole("cell", { name: "OK", exact: true })).toBeVisible();
  await expect(row).toContainText("Simulated");

  await waitForHydration(page);
  await row.getByText("Disconnect…").click();
  await row.getByRole("button", { name: `Disconnect ${email}` }).click();
  await expect(page.getByText(`Disconnected ${email}. Heroku revoked the authorization.`)).toBeVisible();
  await expect(page.getByRole("row", { name: new RegExp(email) })).toHaveCount(0);
});

test("a forged OAuth state is refused", async ({ page }) => {
  await connectionsPage(page);
  // A real flow is under way in this session...
  await page.getByRole("button", { name: "Connect through the sandbox's OAuth page" }).click();
  await expect(page).toHaveURL(/\/sandbox\/oauth\/authorize\?/);
  // ...but the browser comes back with a state Rebound never issued.
  await page.goto("/oauth/heroku/callback?code=stolen-code&state=forged-state");
  await expect(page).toHaveURL(/\/connections\?oauth_error=state$/);
  await expect(
    page.getByText("does not belong to a connection started in this browser session", { exact: false }),
  ).toBeVisible();
  await expect(page.getByText("No Heroku account is connected yet.")).toBeVisible();
});

test("a wrong API key is refused with a message on the field", async ({ page }) => {
  await connectionsPage(page);
  await page.getByLabel("Heroku API key").fill("HRKU-not-a-key");
  await page.getByRole("button", { name: "Connect with API key" }).click();
  await expect(page.getByText("Heroku rejected this API key: Invalid credentials provided.")).toBeVisible();
  await expect(page.getByText("No Heroku account is connected yet.")).toBeVisible();
});

test("an API key error clears once another connection is made", async ({ page }) => {
  await connectionsPage(page);
  await waitForHydration(page);
  await page.getByLabel("Heroku API key").fill("HRKU-not-a-key");
  await page.getByRole("button", { name: "Connect with API key" }).click();
  const refusal = page.getByText("Heroku rejected this API key: Invalid credentials provided.");
  await expect(refusal).toBeVisible();

  await page.getByRole("button", { name: "Connect a sandbox account" }).click();
  await expect(page.getByRole("row", { name: /sandbox-user-.*Simulated/ })).toBeVisible();
  await expect(refusal).toBeHidden();
});
