/**
 * The maintenance hooks' DigitalOcean client against the lab's stand-in of the API (in process,
 * on loopback): managers by tag, the reserved IPs on a droplet, an assign that waits for its
 * action, a 422 ("pending event") retried, a refused token reported.
 */
import { digitalOceanApi } from "../components/maintenance/maintenanceOps";
import { DoApiStandIn, startDoApi } from "./lab/do-api";

const IP = "198.51.100.7";
let api: DoApiStandIn;
beforeEach(async () => {
  api = await startDoApi({
    token: "t",
    actionSeconds: 0.3,
    droplets: [
      {
        id: 1,
        name: "c-manager-0",
        tags: ["c", "c-manager"],
        publicIp: "203.0.113.1",
        privateIp: "10.0.0.1",
      },
      {
        id: 2,
        name: "c-manager-1",
        tags: ["c", "c-manager"],
        publicIp: "203.0.113.2",
        privateIp: "10.0.0.2",
      },
      {
        id: 3,
        name: "c-worker-0",
        tags: ["c", "c-worker"],
        publicIp: "203.0.113.3",
        privateIp: "10.0.0.3",
      },
    ],
    reservedIps: [
      { ip: IP, region: "fra1", dropletId: 1 },
      { ip: "198.51.100.8", region: "fra1" },
    ],
  });
});
afterEach(() => api.close());

const client = (token = "t") => digitalOceanApi(token, { baseUrl: api.url, pollSeconds: 0.1 });

test("the managers by tag, with their public addresses", async () => {
  expect(await client().dropletsByTag("c-manager")).toEqual([
    { id: 1, name: "c-manager-0", publicIp: "203.0.113.1" },
    { id: 2, name: "c-manager-1", publicIp: "203.0.113.2" },
  ]);
  expect(api.calls[0]).toBe("GET /v2/droplets?tag_name=c-manager&per_page=200");
});

test("the reserved IPs routed to a droplet", async () => {
  expect(await client().reservedIpsOn(1)).toEqual([IP]);
  expect(await client().reservedIpsOn(2)).toEqual([]);
});

test("an assign waits until the action completed; one sent while another is pending is retried", async () => {
  const c = client();
  // Another action (a failover agent's, say) is pending on the IP.
  const other = fetch(`${api.url}/v2/reserved_ips/${IP}/actions`, {
    method: "POST",
    headers: { Authorization: "Bearer t" },
    body: JSON.stringify({ type: "assign", droplet_id: 3 }),
  });
  expect((await other).status).toBe(201);
  await c.assign(IP, 2, 10);
  expect(api.holder(IP)).toBe(2);
  const posts = api.calls.filter((x) => x.startsWith("POST"));
  expect(posts.length).toBeGreaterThanOrEqual(3); // the other, at least one 422, ours
});

test("a refused token fails with the API's answer", async () => {
  await expect(client("wrong").reservedIpsOn(1)).rejects.toThrow(/HTTP 401/);
});
