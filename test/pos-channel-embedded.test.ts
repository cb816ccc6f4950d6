// The pos kind on the single-machine default: PGlite and the embedded log.
import { definePosChannelSuite } from './pos-channel-suite.js';
import { embeddedDeployment } from './spine/deployments.js';

definePosChannelSuite(embeddedDeployment);
