// The square kind on the single-machine default: PGlite and the embedded log.
import { defineSquareChannelSuite } from './square-channel-suite.js';
import { embeddedDeployment } from './spine/deployments.js';

defineSquareChannelSuite(embeddedDeployment);
