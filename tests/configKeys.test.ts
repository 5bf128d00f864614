import {
  closestKey,
  editDistance,
  KNOWN_CONFIG_KEYS,
  unknownConfigKeyProblems,
} from "../components/core/configKeys";

test("edit distance", () => {
  expect(editDistance("manager", "managers")).toBe(1);
  expect(editDistance("clustername", "clusterName")).toBe(0);
  expect(editDistance("regoin", "region")).toBe(2);
  expect(editDistance("", "abc")).toBe(3);
});

test.each([
  ["manager", "managers"],
  ["worker", "workers"],
  ["stack", "stacks"],
  ["Region", "region"],
  ["regoin", "region"],
  ["dockerversion", "dockerVersion"],
  ["sshPublickey", "sshPublicKey"],
  ["adminCidr", "adminCidrs"],
  ["registryName", "registry"],
])("%s is taken for %s", (typo, meant) => {
  expect(closestKey(typo, KNOWN_CONFIG_KEYS)).toBe(meant);
});

test("a key close to nothing gets no suggestion", () => {
  expect(closestKey("foo", KNOWN_CONFIG_KEYS)).toBeUndefined();
  expect(closestKey("databasePassword", KNOWN_CONFIG_KEYS)).toBeUndefined();
});

test("only unknown keys of the project's namespace are problems; values never shown", () => {
  const problems = unknownConfigKeyProblems(
    {
      "do-swarm:region": "fra1",
      "do-swarm:manager": '{"count":5}',
      "do-swarm:zzz": "hunter2",
      "do-swarm:dbPassword": "s3cret",
      "digitalocean:token": "dop_v1_x",
      "pulumi:tags": "{}",
    },
    "do-swarm",
    ["dbPassword"],
  );
  expect(problems).toEqual([
    "do-swarm:manager is not a setting of this program and would be ignored: did you mean do-swarm:managers? Rename it in Pulumi.<stack>.yaml (or pulumi config rm manager and set managers)",
    `do-swarm:zzz is not a setting of this program and would be ignored: no known key is close; the keys are ${KNOWN_CONFIG_KEYS.join(", ")} (docs/configuration.md). Remove it: pulumi config rm zzz`,
  ]);
  expect(problems.join("\n")).not.toMatch(/hunter2|count|s3cret/);
});

test("the known keys are unique, in one list others can append to", () => {
  expect(new Set(KNOWN_CONFIG_KEYS).size).toBe(KNOWN_CONFIG_KEYS.length);
  expect(
    unknownConfigKeyProblems(
      { "do-swarm:edge": "{}" },
      "do-swarm",
      [],
      [...KNOWN_CONFIG_KEYS, "edge"],
    ),
  ).toEqual([]);
});
