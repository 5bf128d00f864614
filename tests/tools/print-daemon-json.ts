// Prints the /etc/docker/daemon.json every droplet boots with (the lab starts its engines with it).
import { daemonJson } from "../../components/swarm/cloudInit";
import { DEFAULTS } from "../../components/swarm/config";

process.stdout.write(
  JSON.stringify(daemonJson({ dockerVersion: DEFAULTS.dockerVersion }), null, 2) + "\n",
);
