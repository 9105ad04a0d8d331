import { expect, test } from "@playwright/test";
import { PASSWORD, createOwner, open, signIn, uniqueEmail, waitForHydration } from "./support";

test("owner invites a viewer who signs up through the link", async ({ page, browser }) => {
  const owner = createOwner("inviter");
  await signIn(page, owner.email);
  await open(page, "/team");
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByLabel("Note (who is it for?)").fill("Vera from support");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const link = await page.getByLabel("Invitation link").inputValue();
  expect(link).toContain("/invite/");
  await expect(page.getByRole("cell", { name: "Vera from support" })).toBeVisible();

  const viewerContext = await browser.newContext();
  const viewerPage = await viewerContext.newPage();
  await viewerPage.goto(link);
  await waitForHydration(viewerPage);
  await expect(viewerPage.getByRole("heading", { name: `Join ${owner.team} on Rebound` })).toBeVisible();
  const viewerEmail = uniqueEmail("viewer");
  await viewerPage.getByLabel("Email").fill(viewerEmail);
  await viewerPage.getByLabel("Password").fill(PASSWORD);
  await viewerPage.getByRole("button", { name: "Create account and join" }).click();
  await expect(viewerPage.getByTestId("current-team")).toContainText(owner.team);
  await expect(viewerPage.getByTestId("current-team")).toContainText("Viewer");

  // The viewer sees the members but no controls to change them.
  await open(viewerPage, "/team");
  await expect(viewerPage.getByRole("cell", { name: owner.email })).toBeVisible();
  await expect(viewerPage.getByRole("button", { name: "Change role" })).toHaveCount(0);
  await expect(viewerPage.getByRole("button", { name: "Create invitation link" })).toHaveCount(0);

  // And the server refuses the action even when asked directly.
  const refused = await viewerPage.request.post("/api/create_invitation", {
    form: { role: "viewer", note: "" },
    headers: { accept: "application/json", origin: new URL(link).origin },
  });
  expect(refused.status()).toBe(403);
  expect(await refused.json()).toBe("Forbidden");

  // The link is spent.
  const thirdContext = await browser.newContext();
  const thirdPage = await thirdContext.newPage();
  await thirdPage.goto(link);
  await expect(thirdPage.getByText("This invitation link was already used, revoked or has expired.")).toBeVisible();

  // The owner now sees the viewer in the team.
  await open(page, "/team");
  await expect(page.getByRole("cell", { name: viewerEmail })).toBeVisible();
  await viewerContext.close();
  await thirdContext.close();
});

test("team switcher moves between teams", async ({ page }) => {
  const owner = createOwner("switcher");
  await signIn(page, owner.email);
  await expect(page.getByTestId("current-team")).toContainText(owner.team);

  await open(page, "/teams/new");
  await page.getByLabel("Team name").fill("Second team");
  await page.getByRole("button", { name: "Create team" }).click();
  // With two teams the header offers a chooser set to the current one.
  const switcher = page.getByLabel("Team", { exact: true });
  const chosen = switcher.locator("option:checked");
  await expect(chosen).toHaveText("Second team");
  await waitForHydration(page);

  await expect(switcher.locator("option")).toHaveCount(2);
  await switcher.selectOption({ label: owner.team });
  await expect(chosen).toHaveText(owner.team);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(owner.team);
});
