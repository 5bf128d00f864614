// What docker/cli does with each service key (cli/compose/types: ForbiddenProperties,
// UnsupportedProperties, DeprecatedProperties; and the v3.13 JSON schema that
// `docker stack deploy` validates against). Checked against docker CLI 28.

/** `docker stack deploy` refuses the file outright. Value: what to do instead (docker's text). */
export const FORBIDDEN: Record<string, string> = {
  extends: "`extends` is not supported by docker stack; inline the extended service's keys",
  volume_driver:
    "define a volume in the top-level `volumes:` with that driver and mount it from the service",
  volumes_from:
    "define the shared volume in the top-level `volumes:` and mount it in each service that shares it",
  cpu_quota: "set deploy.resources.limits.cpus instead",
  cpu_shares: "set deploy.resources.limits.cpus / reservations.cpus instead",
  cpuset: "remove it, or set deploy.resources.limits.cpus",
  mem_limit: "set deploy.resources.limits.memory instead",
  memswap_limit: "remove it, or set deploy.resources.limits.memory",
};

/**
 * Accepted by the schema but ignored by `docker stack deploy` ("Ignoring unsupported options").
 * `build` and `restart` are handled separately (build spec; restart_policy conversion).
 * cap_add/cap_drop, sysctls and ulimits are supported by swarm services since Docker 20.10.
 */
export const UNSUPPORTED: Record<string, string> = {
  cgroupns_mode: "swarm services cannot set it",
  cgroup_parent: "swarm services cannot set it",
  devices: "swarm services cannot map devices; use a generic resource or a bind mount",
  domainname: "swarm services cannot set it; use hostname",
  external_links: "swarm services reach other services by name on a shared network",
  ipc: "swarm services cannot set it",
  links: "swarm services reach each other by service name on a shared overlay network",
  mac_address: "swarm services cannot set it",
  network_mode: "swarm services attach to networks: listed under networks:",
  pid: "swarm services cannot set it",
  privileged: "swarm services cannot run privileged; use cap_add for the capabilities needed",
  security_opt: "swarm services cannot set it",
  shm_size: "swarm services cannot set it; mount a tmpfs volume at /dev/shm instead",
  userns_mode: "swarm services cannot set it",
};

/**
 * Accepted by the schema, not in docker's lists, yet silently ignored by `docker stack deploy`:
 * its convert.Service never reads them (checked in cli/compose/convert/service.go).
 */
export const SILENTLY_IGNORED: Record<string, string> = {
  group_add: "swarm services cannot add supplementary groups; set them in the image",
};

/** Deprecated in v3: ignored with a warning by docker (docker's explanations). */
export const DEPRECATED: Record<string, string> = {
  container_name: "swarm names the containers; setting the container name is not supported",
  expose:
    "exposing ports is unnecessary: services on the same network reach each other's containers on any port",
};

/** Every service key the v3.13 schema accepts (besides x-*). Others make docker reject the file. */
export const SCHEMA_SERVICE_KEYS = new Set([
  "deploy", "build", "cap_add", "cap_drop", "cgroupns_mode", "cgroup_parent", "command", "configs",
  "container_name", "credential_spec", "depends_on", "devices", "dns", "dns_search", "domainname",
  "entrypoint", "env_file", "environment", "expose", "external_links", "extra_hosts", "group_add",
  "healthcheck", "hostname", "image", "init", "ipc", "isolation", "labels", "links", "logging",
  "mac_address", "network_mode", "networks", "pid", "ports", "privileged", "read_only", "restart",
  "security_opt", "shm_size", "secrets", "sysctls", "stdin_open", "stop_grace_period",
  "stop_signal", "tmpfs", "tty", "ulimits", "oom_score_adj", "user", "userns_mode", "volumes",
  "working_dir",
]); // prettier-ignore

/** Top-level keys of the v3.13 schema (besides x-*). */
export const SCHEMA_TOP_KEYS = new Set([
  "version",
  "services",
  "networks",
  "volumes",
  "secrets",
  "configs",
]);

/** Version written into every rendered stack: the newest docker CLI 28 accepts, a superset of 3.x. */
export const OUTPUT_VERSION = "3.13";

/**
 * deploy: keys of the v3.13 schema, which allows nothing else (compose-spec additions such as
 * resources.reservations.devices or placement.max_replicas make docker stack reject the file).
 * Values are the allowed sub-keys of mapping-valued keys, or true for leaves.
 */
export const DEPLOY_SCHEMA: Record<string, true | Record<string, true | Record<string, true>>> = {
  mode: true,
  endpoint_mode: true,
  replicas: true,
  labels: true,
  update_config: { parallelism: true, delay: true, failure_action: true, monitor: true, max_failure_ratio: true, order: true },
  rollback_config: { parallelism: true, delay: true, failure_action: true, monitor: true, max_failure_ratio: true, order: true },
  resources: {
    limits: { cpus: true, memory: true, pids: true },
    reservations: { cpus: true, memory: true, generic_resources: true },
  },
  restart_policy: { condition: true, delay: true, max_attempts: true, window: true },
  placement: { constraints: true, preferences: true, max_replicas_per_node: true },
}; // prettier-ignore
