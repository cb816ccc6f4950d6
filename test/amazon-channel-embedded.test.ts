// The amazon kind on the single-machine default: PGlite and the embedded log.
import { defineAmazonChannelSuite } from './amazon-channel-suite.js';
import { embeddedDeployment } from './spine/deployments.js';

defineAmazonChannelSuite(embeddedDeployment);
