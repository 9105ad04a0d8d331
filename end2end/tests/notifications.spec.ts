import { createHmac } from "node:crypto";
import { createServer, IncomingHttpHeaders, Server } from "node:http";
import { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { createOwner, signIn, PASSWORD } from "./support";

/** A webhook receiver on 127.0.0.1 that keeps what it receives. */
class Receiver {
  requests: { headers: IncomingHttpHeaders; body: string }[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    let receiver: Receiver;
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        receiver.requests.push({ headers: request.headers, body });
        response.writeHead(200, { "content-type": "text/plain" });
        response.end("ok");
      });
    });
    receiver = new Receiver(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/rebound-hook`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const SECRET = "e2e signing secret of enough length";

test("admin adds a signed webhook, a rule, and sends a test", async ({ page }) => {
  const receiver = await Receiver.start();
  try {
    const owner = createOwner("notify");
    await signIn(page, owner.email);
    await page.getByRole("link", { name: "Notifications" }).click();
    await expect(page.getByRole("heading", { name: "Notifications", exact: true })).toBeVisible();
    await expect(page.getByText("No channel yet.")).toBeVisible();

    // A bad URL is reported on its field and the other fields keep their values.
    await page.getByLabel("Name", { exact: true }).fill("ops webhook");
    await page.getByLabel("Type", { exact: true }).selectOption("webhook");
    await page.getByLabel("URL (Slack and webhook)").fill("ftp://127.0.0.1/hook");
    await page.getByLabel("Signing secret (webhook, optional)").fill(SECRET);
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect(page.getByText("URL must start with https://")).toBeVisible();
    await expect(page.getByLabel("Name", { exact: true })).toHaveValue("ops webhook");

    await page.getByLabel("URL (Slack and webhook)").fill(receiver.url);
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect(page.getByText('Added channel "ops webhook".')).toBeVisible();
    await expect(page.getByLabel("URL (Slack and webhook)")).toHaveValue("");
    await expect(page.getByLabel("Signing secret (webhook, optional)")).toHaveValue("");
    const row = page.getByTestId("channels").getByRole("row", { name: /ops webhook/ });
    await expect(row).toContainText("Webhook (signed)");
    await expect(row).toContainText("Nothing sent yet.");
    await expect(row).not.toContainText("rebound-hook");

    await page.getByLabel("Event", { exact: true }).selectOption("monitor_failed");
    await page.getByLabel("Channel", { exact: true }).selectOption({ label: "ops webhook" });
    await page.getByRole("button", { name: "Add rule" }).click();
    await expect(
      page.getByTestId("rules").getByRole("row", { name: /Monitor turned Failed ops webhook/ }),
    ).toBeVisible();

    await row.getByRole("button", { name: "Send test to ops webhook" }).click();
    await expect(page.getByTestId("test-result")).toHaveText(
      'Test message to "ops webhook": Delivered: the receiver answered HTTP 200.',
    );
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    const expected = "sha256=" + createHmac("sha256", SECRET).update(request.body).digest("hex");
    expect(request.headers["x-rebound-signature"]).toBe(expected);
    expect(JSON.parse(request.body).event).toBe("test");
    await expect(page.getByTestId("channels").getByRole("row", { name: /ops webhook/ })).toContainText(
      "Working: last delivered",
    );
  } finally {
    await receiver.stop();
  }
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a webhook channel is added and tested", async ({ page }) => {
    const receiver = await Receiver.start();
    try {
      const owner = createOwner("notify-nojs");
      await page.goto("/login");
      await page.getByLabel("Email").fill(owner.email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.goto("/settings/notifications");

      await page.getByLabel("Name", { exact: true }).fill("plain hook");
      await page.getByLabel("Type", { exact: true }).selectOption("webhook");
      await page.getByLabel("URL (Slack and webhook)").fill("ftp://127.0.0.1/hook");
      await page.getByRole("button", { name: "Add channel" }).click();
      await expect(page.getByText("URL must start with https://")).toBeVisible();

      await page.getByLabel("Name", { exact: true }).fill("plain hook");
      await page.getByLabel("Type", { exact: true }).selectOption("webhook");
      await page.getByLabel("URL (Slack and webhook)").fill(receiver.url);
      await page.getByRole("button", { name: "Add channel" }).click();
      const row = page.getByTestId("channels").getByRole("row", { name: /plain hook/ });
      await expect(row).toBeVisible();
      await row.getByRole("button", { name: "Send test to plain hook" }).click();
      await expect(page.getByTestId("channels").getByRole("row", { name: /plain hook/ })).toContainText(
        "Working: last delivered",
      );
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });
});
