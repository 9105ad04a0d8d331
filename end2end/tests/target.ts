// A page on 127.0.0.1 that tests make healthy or broken, for monitors to watch.
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";

export class TargetPage {
  healthy = true;
  hits = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<TargetPage> {
    let page: TargetPage;
    const server = createServer((_request, response) => {
      page.hits += 1;
      if (page.healthy) {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end("<h1>Shop</h1><p>status: all systems operational</p>");
      } else {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end("<h1>Shop</h1><p>status: database connection lost</p>");
      }
    });
    page = new TargetPage(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return page;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}
