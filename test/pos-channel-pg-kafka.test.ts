// The pos kind on PostgreSQL with Kafka (the mock broker).
import { definePosChannelSuite } from './pos-channel-suite.js';
import { pgKafkaDeployment } from './spine/deployments.js';

definePosChannelSuite(pgKafkaDeployment);
