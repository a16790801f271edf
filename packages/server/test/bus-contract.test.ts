/**
 * The bus contract against both implementations: the in-memory bus and a real Redis
 * (GATEHOUSE_TEST_REDIS_URL).
 */
import { pino } from 'pino';

import { MemoryBus } from '../src/events/memory-bus.js';
import { RedisBus } from '../src/events/redis-bus.js';
import { busContract } from './helpers/bus-contract.js';
import { requireRedisUrl, skipWithoutRedis } from './helpers/redis.js';

const logger = pino({ level: 'silent' });

busContract('memory', async () => {
  const a = new MemoryBus({ logger });
  const b = new MemoryBus({ logger, broker: a.broker });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

busContract(
  'redis',
  async () => {
    const url = requireRedisUrl();
    const a = await RedisBus.connect({ url, logger, nodeId: 'contract-a' });
    const b = await RedisBus.connect({ url, logger, nodeId: 'contract-b' });
    return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
  },
  skipWithoutRedis(),
);
