// Prints the cloud-init user data the program gives every droplet, for `cloud-init schema`.
import { renderUserData } from "../../components/swarm/cloudInit";
import { DEFAULTS } from "../../components/swarm/config";

process.stdout.write(renderUserData({ dockerVersion: process.argv[2] ?? DEFAULTS.dockerVersion }));
