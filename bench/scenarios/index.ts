/** Every scenario, in the order of the benchmark issue. */
import type { Scenario } from '../types.ts';
import { append } from './append.ts';
import { batch } from './batch.ts';
import { catchUp } from './catch-up.ts';
import { liveLatency } from './live-latency.ts';
import { memory } from './memory.ts';
import { otel } from './otel.ts';
import { partitions } from './partitions.ts';
import { queues } from './queues.ts';
import { strong } from './strong.ts';
import { typeFilter } from './type-filter.ts';

export const scenarios: readonly Scenario[] = [catchUp, append, liveLatency, strong, partitions, queues, memory, batch, typeFilter, otel];
